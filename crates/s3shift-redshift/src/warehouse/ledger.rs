//! `s3shift.loaded_objects`: the ledger of object versions loaded, read back by the planner.
//!
//! The load transaction writes the ledger ([`crate::sql::LoadSql`]); this module reads it. The Data API fails a
//! statement whose result set is over 500 MB ("Database response exceeded size limit", in the Data API's
//! troubleshooting page), which the window of a busy bucket passes, so the window is first sized by minute
//! ([`LedgerTable::size_by_minute`]) and then read in slices of consecutive minutes
//! ([`LedgerTable::read_slice`]), each bounded by the caller's byte budget.
//!
//! # Every statement touches a bounded slice
//! The table's sort key is `(source, last_modified)` (`sql/0001_tables.sql`) and its distribution key
//! `object_key`. Every statement here names the source, the bucket and a `last_modified` lower bound (a
//! [`LedgerWindow`]: the lifecycle rule's days plus a margin, before which no listed or notified object can
//! still exist), so Redshift's zone maps skip every block outside the window ("Working with sort keys": a
//! range-restricted scan on the leading columns), and the rows read follow the bucket's last days, not the
//! table's age. The load's merge does the same with its own range (`crate::sql::MergeRange`).
//!
//! **Retention.** Rows older than the window are never read again, by any statement: a scan checks listed objects
//! against the window only, an event lookup too, and a backfill reads no ledger. [`LedgerTable::prune`] deletes
//! them (a scan run does, after its load): what no listing can return. An object S3 keeps longer than its
//! rule (expiry is asynchronous) and that is listed after its row was pruned is read again and replaces its rows
//! (the load deletes by object identity): work, never a duplicate. The curated table keeps every row, with the
//! run and time it was loaded, so the history the ledger drops stays queryable there.

use chrono::{DateTime, Utc};

use crate::client::{DataApi, Value};
use crate::sql::{TableName, safe_literal};
use crate::{Error, Result};

/// Most keys one ledger lookup statement names ([`LedgerTable::lookup_keys`]).
pub const KEYS_PER_LOOKUP: usize = 500;

/// The `loaded_objects` table of a schema.
#[derive(Debug, Clone)]
pub struct LedgerTable {
    table: TableName,
}

/// Which rows of the ledger a statement covers: one source's bucket, `last_modified` from `since` on. Always
/// bounded: there is no way to name the whole ledger.
#[derive(Debug, Clone, Copy)]
pub struct LedgerWindow<'a> {
    /// The job's source name (the sort key's leading column).
    pub source: &'a str,
    /// The source bucket.
    pub bucket: &'a str,
    /// Oldest `last_modified` read.
    pub since: DateTime<Utc>,
}

/// One ledger row found by [`LedgerTable::lookup_keys`].
#[derive(Debug, Clone, Copy)]
pub struct LedgerHit<'a> {
    /// The object key.
    pub key: &'a str,
    /// The ETag, as the ledger holds it.
    pub etag: &'a str,
    /// The version id, when the row has one.
    pub version_id: Option<&'a str>,
    /// When the load that wrote the row ran (the warehouse's clock); `None` when the text does not parse.
    pub loaded_at: Option<DateTime<Utc>>,
}

/// Parses the warehouse's text form of a TIMESTAMPTZ (`2026-11-28 04:31:19.494121+00`, or RFC 3339).
pub fn parse_timestamptz(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let with_zone = if s.ends_with("+00") {
        format!("{s}:00")
    } else {
        s.to_owned()
    };
    DateTime::parse_from_str(&with_zone, "%Y-%m-%d %H:%M:%S%.f%:z")
        .or_else(|_| DateTime::parse_from_rfc3339(&with_zone))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The warehouse's clock now (`GETDATE()`, the clock `loaded_at` is written with), as a bound that every load
/// whose `loaded_at` reaches it started after this call: one statement.
///
/// "GETDATE function" (Amazon Redshift Database Developer Guide): the start of the current statement, and its
/// example shows whole seconds. A time without a fraction is taken to be cut to the second, so one second is
/// added: a load in the same second then counts as earlier (read again, never skipped).
pub async fn warehouse_now(api: &DataApi) -> Result<DateTime<Utc>> {
    let rows = api.query("SELECT CAST(GETDATE() AS TIMESTAMPTZ)", &[]).await?;
    let text = rows
        .rows
        .first()
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let now = parse_timestamptz(&text).ok_or_else(|| Error::Table {
        table: "GETDATE()".into(),
        problem: format!("the warehouse's time {text:?} is not a TIMESTAMPTZ"),
    })?;
    Ok(if chrono::Timelike::nanosecond(&now) == 0 {
        now + chrono::Duration::seconds(1)
    } else {
        now
    })
}

/// A time as the warehouse keeps it: UTC to the microsecond ("Datetime types": TIMESTAMPTZ has a resolution
/// of one microsecond), so nothing finer is ever sent for Redshift to round or refuse.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

impl LedgerWindow<'_> {
    fn predicate(&self) -> (String, Vec<(&'static str, String)>) {
        (
            "source = :source AND bucket = :bucket AND last_modified >= CAST(:since AS TIMESTAMPTZ)"
                .to_owned(),
            vec![
                ("source", self.source.to_owned()),
                ("bucket", self.bucket.to_owned()),
                ("since", stamp(self.since)),
            ],
        )
    }
}

impl LedgerTable {
    /// The `loaded_objects` table beside `target` (the curated table).
    pub fn beside(target: &TableName) -> Result<Self> {
        Ok(Self {
            table: target.sibling("loaded_objects")?,
        })
    }

    /// The table's name.
    pub fn name(&self) -> &TableName {
        &self.table
    }

    /// The bytes of identity (key, ETag, version id) that each UTC minute of `last_modified` in `window` holds,
    /// ascending by minute (minutes since the epoch). One statement.
    ///
    /// Minutes are taken of `last_modified` as a UTC TIMESTAMP, Redshift's session default. Were the session
    /// elsewhere, slice sizes would shift by its offset, while slices still cover the window exactly once.
    pub async fn size_by_minute(&self, api: &DataApi, window: LedgerWindow<'_>) -> Result<Vec<(i64, u64)>> {
        let (predicate, params) = window.predicate();
        let sql = format!(
            "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM CAST(last_modified AS TIMESTAMP)) / 60) AS BIGINT) AS minute, \
             CAST(SUM(OCTET_LENGTH(object_key) + OCTET_LENGTH(etag) + COALESCE(OCTET_LENGTH(version_id), 0)) \
             AS BIGINT) AS bytes FROM {} WHERE {predicate} GROUP BY 1 ORDER BY 1",
            self.table
        );
        let mut minutes = Vec::new();
        let mut without_size = 0u64;
        api.query_each(&sql, &params, |row| {
            match (
                row.first().and_then(Value::as_i64),
                row.get(1).and_then(Value::as_i64),
            ) {
                (Some(minute), Some(bytes)) => minutes.push((minute, u64::try_from(bytes).unwrap_or(0))),
                _ => without_size += 1,
            }
        })
        .await?;
        if without_size > 0 {
            return Err(Error::Table {
                table: self.table.to_string(),
                problem: format!("sizing by minute returned {without_size} rows without a minute or a size"),
            });
        }
        Ok(minutes)
    }

    /// Hands every ledger row in `window` whose key is one of `keys` to `on_row` ([`LedgerHit`]: its identity
    /// and when it was loaded): the ledger lookup of an event run, whose cost follows the objects it names and
    /// the window's days, not the table's age. One statement per [`KEYS_PER_LOOKUP`] keys (fewer when keys are long: a statement and its
    /// parameters stay under 64 KiB, well inside the Data API's 100 KB statement limit, "Considerations when
    /// calling the Amazon Redshift Data API"). Returns the statements run; rows without a key or an ETag are
    /// skipped.
    pub async fn lookup_keys(
        &self,
        api: &DataApi,
        window: LedgerWindow<'_>,
        keys: &[&str],
        mut on_row: impl FnMut(LedgerHit<'_>),
    ) -> Result<u64> {
        let mut statements = 0u64;
        let mut rest = keys;
        while !rest.is_empty() {
            let mut take = 0;
            let mut bytes = 0usize;
            while take < rest.len()
                && take < KEYS_PER_LOOKUP
                && (take == 0 || bytes + rest[take].len() < 48 * 1024)
            {
                bytes += rest[take].len() + 16;
                take += 1;
            }
            let (chunk, later) = rest.split_at(take);
            rest = later;
            let names: Vec<String> = (0..chunk.len()).map(|i| format!("k{i}")).collect();
            let list = names
                .iter()
                .map(|n| format!(":{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let (predicate, mut params) = window.predicate();
            let sql = format!(
                "SELECT object_key, etag, version_id, loaded_at FROM {} WHERE {predicate} AND object_key IN ({list})",
                self.table
            );
            params.extend(
                names
                    .iter()
                    .map(String::as_str)
                    .zip(chunk.iter().map(|k| (*k).to_owned())),
            );
            api.query_each(&sql, &params, |row| {
                if let (Some(key), Some(etag)) = (
                    row.first().and_then(Value::as_str),
                    row.get(1).and_then(Value::as_str),
                ) {
                    on_row(LedgerHit {
                        key,
                        etag,
                        version_id: row.get(2).and_then(Value::as_str),
                        loaded_at: row.get(3).and_then(Value::as_str).and_then(parse_timestamptz),
                    });
                }
            })
            .await?;
            statements += 1;
        }
        Ok(statements)
    }

    /// Deletes the rows of `window`'s source and bucket older than its start: rows no statement reads again (see
    /// the module's "Retention"). One batch, which first takes the load lock as every s3shift writer of the
    /// schema does (`crate::sql::LoadSql`), so that a prune never makes a concurrent load fail with a
    /// serialization conflict under SERIALIZABLE, nor the reverse. Returns the rows deleted.
    pub async fn prune(&self, api: &DataApi, window: LedgerWindow<'_>) -> Result<u64> {
        let fences = self.table.sibling(crate::sql::FENCE_TABLE)?;
        let statements = [
            format!("LOCK {fences}"),
            format!(
                "DELETE FROM {} WHERE source = {} AND bucket = {} AND last_modified < CAST({} AS TIMESTAMPTZ)",
                self.table,
                safe_literal("source name", window.source)?,
                safe_literal("bucket", window.bucket)?,
                // To the microsecond, in the `T` form a checked literal may hold (as the runs row's start).
                safe_literal(
                    "window start",
                    &window.since.format("%Y-%m-%dT%H:%M:%S%.6f+00").to_string()
                )?,
            ),
        ];
        let id = api.submit_batch(&statements).await?;
        let done = api.wait(&id).await?;
        Ok(done
            .result_rows
            .get(1)
            .map_or(0, |n| u64::try_from(*n).unwrap_or(0)))
    }

    /// Hands the identity (key, ETag, version id) of every ledger row in `window` whose `last_modified` falls in
    /// `[from_minute, to_minute)` (minutes since the epoch; `None` leaves that side open) to `on_row`, one
    /// result page at a time. One statement. Returns the rows without a key or an ETag, which it skips.
    pub async fn read_slice(
        &self,
        api: &DataApi,
        window: LedgerWindow<'_>,
        from_minute: Option<i64>,
        to_minute: Option<i64>,
        mut on_row: impl FnMut(&str, &str, Option<&str>),
    ) -> Result<u64> {
        let (predicate, mut params) = window.predicate();
        let mut sql = format!(
            "SELECT object_key, etag, version_id FROM {} WHERE {predicate}",
            self.table
        );
        for (bound, op, minute) in [("slice_start", ">=", from_minute), ("slice_end", "<", to_minute)] {
            let Some(at) = minute.and_then(|m| DateTime::from_timestamp(m.saturating_mul(60), 0)) else {
                continue;
            };
            sql.push_str(&format!(" AND last_modified {op} CAST(:{bound} AS TIMESTAMPTZ)"));
            params.push((bound, stamp(at)));
        }
        let mut unreadable = 0u64;
        api.query_each(&sql, &params, |row| {
            let key = row.first().and_then(Value::as_str);
            let etag = row.get(1).and_then(Value::as_str);
            let version = row.get(2).and_then(Value::as_str);
            match (key, etag) {
                (Some(key), Some(etag)) => on_row(key, etag, version),
                _ => unreadable += 1,
            }
        })
        .await?;
        Ok(unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warehouse_times_parse() {
        assert!(parse_timestamptz("2026-11-28 04:31:19.494121+00").is_some());
        assert!(parse_timestamptz("2026-11-28 04:31:19+00").is_some());
        assert!(parse_timestamptz("2026-11-28T04:31:19Z").is_some());
        assert!(parse_timestamptz("yesterday").is_none());
    }
}
