//! Generated SQL, built from typed pieces.
//!
//! Identifiers must match a strict pattern before they are written into SQL; the few literals that Redshift
//! cannot take as parameters (COPY's source and IAM role, values inside a batch, which has no parameters) must
//! be made only of characters that cannot end a literal. Object keys, EXIF text and every other value from
//! outside travel in Parquet files or as Data API parameters, never here.

use chrono::{DateTime, Utc};
use s3shift_core::schema::{ColumnSpec, IMAGES, RedshiftType};

use crate::{Error, Result};

/// A validated SQL identifier: `[a-z_][a-z0-9_]*`, at most 127 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident(String);

impl Ident {
    /// Checks `s`.
    pub fn new(what: &'static str, s: &str) -> Result<Self> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 127
            && (b[0].is_ascii_lowercase() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::Invalid {
                what,
                value: s.to_owned(),
                rule: "must match [a-z_][a-z0-9_]* (at most 127 bytes)",
            })
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `schema.table`, both validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    /// Schema.
    pub schema: Ident,
    /// Table.
    pub table: Ident,
}

impl TableName {
    /// Parses `schema.table`.
    pub fn parse(s: &str) -> Result<Self> {
        let Some((schema, table)) = s.split_once('.') else {
            return Err(Error::Invalid {
                what: "table name",
                value: s.to_owned(),
                rule: "must be schema.table",
            });
        };
        Ok(Self {
            schema: Ident::new("schema name", schema)?,
            table: Ident::new("table name", table)?,
        })
    }

    /// A table in the same schema.
    pub fn sibling(&self, table: &str) -> Result<Self> {
        Ok(Self {
            schema: self.schema.clone(),
            table: Ident::new("table name", table)?,
        })
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// A string literal whose characters cannot end or escape a literal: letters, digits and `._:/=+@,-`.
///
/// # Errors
/// [`Error::Invalid`] for anything else (quotes, backslashes, spaces, control characters).
pub fn safe_literal(what: &'static str, s: &str) -> Result<String> {
    let ok = s.len() <= 1024
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/=+@,-".contains(&b));
    if ok {
        Ok(format!("'{s}'"))
    } else {
        Err(Error::Invalid {
            what,
            value: s.to_owned(),
            rule: "may only hold letters, digits and ._:/=+@,- when written into SQL",
        })
    }
}

/// The IAM role COPY reads the staged files with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamRole {
    /// `IAM_ROLE default`: the namespace's default role.
    Default,
    /// A role ARN.
    Arn(String),
}

impl IamRole {
    /// Parses `default` or an IAM role ARN.
    pub fn parse(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("default") {
            return Ok(Self::Default);
        }
        if s.starts_with("arn:") && s.contains(":role/") {
            safe_literal("IAM role", s)?;
            return Ok(Self::Arn(s.to_owned()));
        }
        Err(Error::Invalid {
            what: "IAM role",
            value: s.to_owned(),
            rule: "must be `default` or an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
        })
    }

    fn sql(&self) -> Result<String> {
        match self {
            Self::Default => Ok("default".into()),
            Self::Arn(arn) => safe_literal("IAM role", arn),
        }
    }
}

/// What one run's load writes to the ledger's `runs` table in the load transaction.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Run id (validated: see `s3shift_core::RunId`).
    pub run_id: String,
    /// Job name (validated).
    pub job: String,
    /// Source name (validated).
    pub source: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Rows staged.
    pub objects_staged: u64,
    /// Parquet files staged.
    pub files_staged: u64,
}

/// The lease a load's run holds, as the load transaction checks it: its fencing token must be at least the last
/// one committed for the same lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// `s3://bucket/key` of the lease object: one fence per lease.
    pub lease: String,
    /// The holder's generation.
    pub generation: u64,
}

/// The load transaction of one run: take the load lock, check the run's fence, COPY the staged files into a
/// temporary table, check the row count, replace matching rows of the curated table and the ledger, record the
/// run. Running it twice leaves the same tables as running it once, and so does running it while other loads
/// of the same objects run (see [`LoadSql::statements`]).
#[derive(Debug, Clone)]
pub struct LoadSql {
    /// The curated table (its schema also holds `loaded_objects` and `runs`).
    pub target: TableName,
    /// `s3://bucket/key` of the COPY manifest.
    pub manifest_url: String,
    /// The role COPY uses.
    pub iam_role: IamRole,
    /// Rows the staged files hold; the load fails if COPY loads a different number.
    pub expected_rows: u64,
    /// The ledger row of the run.
    pub run: RunRow,
    /// The run's lease and generation.
    pub fence: Fence,
    /// Where the rows the load replaces can be, by `last_modified` (see [`MergeRange`]); `None` searches the whole
    /// curated table and ledger (a load staged by an s3shift that did not record its rows' times).
    pub merge_range: Option<MergeRange>,
}

/// The `last_modified` ranges in which the load's statements look for earlier rows of the object versions it
/// stages, in the curated table (sort key `last_modified, source`) and the ledger (`source, last_modified`): each
/// a range-restricted scan ("Working with sort keys": zone maps skip the blocks outside it), so the merge's cost
/// follows the batch and the lifecycle window, not the tables' age.
///
/// Why no row is missed. A row carries its object version's own LastModified, from the GET or the listing (to
/// the second; an event's time is replaced by the GET's, see the extractor), except a `vanished` reading (gone
/// before its GET), which keeps the time it was planned with: for an event run the event's time, which is later
/// than the version's LastModified by the time the upload took (a multipart upload's LastModified is when it
/// began). So:
/// - a staged readable row replaces rows from a day before the earliest staged time to
///   [`MERGE_LOOKBACK_DAYS`] after the latest (an earlier vanished row of the version is that much later at
///   most); rows after now cost nothing, so this reads the days since the batch's oldest object;
/// - a staged vanished row is inserted only where no row of the version lies from the ledger window's start (a
///   version older than that has been expired by the lifecycle rule and cannot be read: no reading of it is
///   staged) to a day after the latest staged time; without a window (a backfill, a replay) from
///   [`MERGE_LOOKBACK_DAYS`] before the earliest.
///
/// Conservative: no AWS page bounds an upload's duration; 35 days is five times the shipped lifecycle, and
/// deploy/storage.yaml aborts multipart uploads left incomplete for a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeRange {
    /// Earliest `last_modified` a staged readable row replaces.
    pub replace_from: DateTime<Utc>,
    /// Earliest `last_modified` the check of a staged vanished row searches.
    pub vanished_from: DateTime<Utc>,
    /// Latest `last_modified` searched by either.
    pub to: DateTime<Utc>,
    /// Latest `last_modified` the check of a staged vanished row searches.
    pub vanished_to: DateTime<Utc>,
}

/// See [`MergeRange`].
pub const MERGE_LOOKBACK_DAYS: i64 = 35;

impl MergeRange {
    /// The ranges for staged rows whose `last_modified` lies in `[earliest, latest]`, with the ledger window's
    /// start when the run had one.
    pub fn around(
        earliest: DateTime<Utc>,
        latest: DateTime<Utc>,
        window_start: Option<DateTime<Utc>>,
    ) -> Self {
        let day = chrono::Duration::days(1);
        let lookback = chrono::Duration::days(MERGE_LOOKBACK_DAYS);
        Self {
            replace_from: earliest - day,
            vanished_from: window_start.map_or(earliest - lookback, |w| w.min(earliest - day)),
            to: latest + lookback,
            vanished_to: latest + day,
        }
    }

    fn between(alias: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        format!(
            " AND {alias}.last_modified >= CAST('{}' AS TIMESTAMPTZ) AND {alias}.last_modified <= CAST('{}' AS \
             TIMESTAMPTZ)",
            crate::warehouse::ledger::stamp(from),
            crate::warehouse::ledger::stamp(to)
        )
    }

    /// The predicate of the rows a staged readable row may replace (literals: a range-restricted scan needs
    /// them, not a subquery).
    fn replaced(&self, alias: &str) -> String {
        Self::between(alias, self.replace_from, self.to)
    }

    /// The predicate of the rows the check of a staged vanished row searches.
    fn vanished_check(&self, alias: &str) -> String {
        Self::between(alias, self.vanished_from, self.vanished_to)
    }
}

/// Name of the temporary table the load copies into.
pub const STAGE_TABLE: &str = "s3shift_stage";

/// The status of a reading of an object that was gone when it was read.
const VANISHED: &str = s3shift_core::ExtractStatus::Vanished.as_str();

/// The table every load locks first and whose row per lease holds the last generation committed: it sits in
/// the curated table's schema.
pub const FENCE_TABLE: &str = "load_fences";

/// Position of the fence check in [`LoadSql::statements`] (0-based). Like the row-count check, its failure is a
/// cast error whose text Redshift cuts short, so a caller reads the fence's row to say who holds the lease now.
pub const FENCE_CHECK: usize = 1;

/// Position of the COPY in [`LoadSql::statements`] (0-based).
pub const COPY_STATEMENT: usize = 5;

/// Position of the row-count check in [`LoadSql::statements`] (0-based). Its failure is a cast error whose text
/// Redshift cuts to one character ("Invalid digit, Value 'r', Pos 0"), so a caller reports the counts from the
/// batch's sub-statement rows: the COPY's ResultRows is what it loaded.
pub const ROW_COUNT_CHECK: usize = 6;

/// The columns that identify an object version, compared with `COALESCE` on the nullable version id.
fn identity_match(left: &str, right: &str) -> String {
    format!(
        "{left}.bucket = {right}.bucket AND {left}.object_key = {right}.object_key AND {left}.etag = {right}.etag \
         AND COALESCE({left}.version_id, '') = COALESCE({right}.version_id, '')"
    )
}

/// The stage table's columns: each curated column with its staged type (`RedshiftType::staged`), the one
/// COPY may load from the staged Parquet file (the pairs are in `s3shift_stage::contract`).
fn stage_columns() -> String {
    IMAGES
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", c.name, c.ty.staged().sql())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The curated value of a staged column of row `alias`, cast where its staged type differs: SMALLINT by
/// `CAST`, TIMESTAMPTZ by `AT TIME ZONE 'UTC'` (the stage holds UTC wall-clock time; "AT TIME ZONE function":
/// "TIMESTAMPTZ when used with a TIMESTAMP expression", whatever the session's time zone).
fn from_stage(c: &ColumnSpec, alias: &str) -> String {
    match c.ty {
        RedshiftType::SmallInt => format!("CAST({alias}.{} AS SMALLINT)", c.name),
        RedshiftType::TimestampTz => format!("{alias}.{} AT TIME ZONE 'UTC'", c.name),
        _ => format!("{alias}.{}", c.name),
    }
}

fn column_list(columns: &[ColumnSpec]) -> String {
    columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// The ledger columns of `loaded_objects`, all taken from the stage table except `loaded_at`.
pub const LEDGER_COLUMNS: &[&str] = &[
    "source",
    "bucket",
    "object_key",
    "version_id",
    "etag",
    "size_bytes",
    "last_modified",
    "expires_at",
    "status",
    "run_id",
    "loaded_at",
];

impl LoadSql {
    /// The statements, in order, for one `BatchExecuteStatement`.
    ///
    /// # Exactly once beside other loads
    /// Redshift Serverless runs under SNAPSHOT isolation by default ("Isolation levels in Amazon Redshift":
    /// "SNAPSHOT isolation is the default isolation level when you create provisioned clusters and serverless
    /// workgroups"), where "concurrent modifications to different rows in the same table would complete
    /// successfully" (What's New, May 2022: "Amazon Redshift launches new Snapshot Isolation level support for
    /// concurrent transactions"). Two loads of the same objects that overlap would each delete what their
    /// snapshot holds (nothing of the other's), then each insert: two rows per object, and no error to retry.
    ///
    /// So the batch first takes `LOCK <schema>.load_fences` ("LOCK": "obtains a table-level lock in ACCESS
    /// EXCLUSIVE mode, waiting if necessary for any conflicting locks to be released"; "The lock is released when
    /// the transaction that contains the LOCK command completes"). LOCK is none of the statements that create a
    /// transaction's snapshot ("A database snapshot is created within a transaction on the first occurrence of
    /// most SELECT statements, DML commands such as COPY, DELETE, INSERT, UPDATE, and TRUNCATE, and the following
    /// DDL commands: ... CREATE TABLE", Isolation levels in Amazon Redshift), so the snapshot of a load that
    /// waited is taken after the load it waited for committed: its deletes see that load's rows, and every
    /// object keeps one row. This is the knowledge-center fix for error 1023, "Force serialization by locking
    /// all tables in each session" ("How do I resolve the 'ERROR: 1023 DETAIL: Serializable isolation violation
    /// on table in Redshift' error?"), narrowed to one table: every s3shift writer of the schema's tables takes
    /// this lock first, so they run one after another, while analysts' reads of the curated tables never wait
    /// (a lock on the curated table itself would make them wait: "Explicitly locking a table in this way causes
    /// reads and writes on the table to wait"). Under SERIALIZABLE the same order leaves no cycle to refuse.
    ///
    /// The cost: loads into one schema queue behind each other for the whole of a load transaction (COPY
    /// included); a load waits at most the sum of the loads ahead of it.
    ///
    /// Then the fence: the batch fails unless its generation is at least the last one committed for its lease
    /// (a stale lease holder commits nothing), and records its own.
    pub fn statements(&self) -> Result<Vec<String>> {
        let target = &self.target;
        let ledger = target.sibling("loaded_objects")?;
        let fences = target.sibling(FENCE_TABLE)?;
        let lease = safe_literal("lease location", &self.fence.lease)?;
        let generation = self.fence.generation;
        let run_id = safe_literal("run id", &self.run.run_id)?;
        let runs = crate::warehouse::RunsTable::beside(target)?;
        if !self.manifest_url.starts_with("s3://") {
            return Err(Error::Invalid {
                what: "manifest URL",
                value: self.manifest_url.clone(),
                rule: "must start with s3://",
            });
        }
        let manifest = safe_literal("manifest URL", &self.manifest_url)?;
        let role = self.iam_role.sql()?;
        let n = self.expected_rows;
        let stage = STAGE_TABLE;
        // One row per identity: the most complete read wins if a batch ever holds an object twice.
        let deduped = format!(
            "(SELECT *, ROW_NUMBER() OVER (PARTITION BY bucket, object_key, etag, COALESCE(version_id, '') \
             ORDER BY bytes_read DESC) AS s3shift_rn FROM {stage}) AS d"
        );
        let image_values = IMAGES
            .iter()
            .map(|c| {
                if c.name == "loaded_at" {
                    "CAST(GETDATE() AS TIMESTAMPTZ)".to_owned()
                } else {
                    from_stage(c, "d")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let ledger_values = LEDGER_COLUMNS
            .iter()
            .map(|c| match IMAGES.iter().find(|spec| spec.name == *c) {
                _ if *c == "loaded_at" => "CAST(GETDATE() AS TIMESTAMPTZ)".to_owned(),
                Some(spec) => from_stage(spec, "d"),
                None => format!("d.{c}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let [delete_run, insert_run] = runs.load_statements(&self.run, n)?;
        let replaced = |alias: &str| self.merge_range.map(|r| r.replaced(alias)).unwrap_or_default();
        let checked = |alias: &str| {
            self.merge_range
                .map(|r| r.vanished_check(alias))
                .unwrap_or_default()
        };
        Ok(vec![
            format!("LOCK {fences}"),
            // Fails the transaction (a cast error) when a later holder of the lease has committed a load.
            format!(
                "SELECT CAST(CASE WHEN COALESCE(MAX(generation), 0) <= {generation} THEN '0' ELSE 'fenced: a \
                 later holder of the lease committed' END AS INTEGER) AS fence_check FROM {fences} WHERE lease = \
                 {lease}"
            ),
            format!("DELETE FROM {fences} WHERE lease = {lease}"),
            format!(
                "INSERT INTO {fences} (lease, generation, run_id, committed_at) VALUES ({lease}, {generation}, \
                 {run_id}, CAST(GETDATE() AS TIMESTAMPTZ))"
            ),
            format!("CREATE TEMP TABLE {stage} ({})", stage_columns()),
            format!("COPY {stage} FROM {manifest} IAM_ROLE {role} FORMAT AS PARQUET MANIFEST"),
            // Fails the transaction (a cast error naming both counts) unless COPY loaded exactly what was staged.
            format!(
                "SELECT CAST(CASE WHEN COUNT(*) = {n} THEN '0' ELSE 'row count check failed: staged {n} rows, \
                 COPY loaded ' || CAST(COUNT(*) AS VARCHAR) END AS INTEGER) AS row_count_check FROM {stage}"
            ),
            // A `vanished` reading (the object 404ed before its GET: expired, or deleted during a backfill)
            // never replaces a row of the same object version, which was read when the object was there; it is
            // inserted only where the version has no row.
            format!(
                "DELETE FROM {target} USING {stage} WHERE {} AND {stage}.status <> '{VANISHED}'{}",
                identity_match(&target.to_string(), stage),
                replaced(&target.to_string()),
            ),
            format!(
                "INSERT INTO {target} ({}) SELECT {image_values} FROM {deduped} WHERE d.s3shift_rn = 1 AND \
                 (d.status <> '{VANISHED}' OR NOT EXISTS (SELECT 1 FROM {target} AS e WHERE {}{}))",
                column_list(IMAGES),
                identity_match("e", "d"),
                checked("e"),
            ),
            format!(
                "DELETE FROM {ledger} USING {stage} WHERE {} AND {stage}.status <> '{VANISHED}'{}",
                identity_match(&ledger.to_string(), stage),
                replaced(&ledger.to_string()),
            ),
            format!(
                "INSERT INTO {ledger} ({}) SELECT {ledger_values} FROM {deduped} WHERE d.s3shift_rn = 1 AND \
                 (d.status <> '{VANISHED}' OR NOT EXISTS (SELECT 1 FROM {ledger} AS e WHERE {}{}))",
                LEDGER_COLUMNS.join(", "),
                identity_match("e", "d"),
                checked("e"),
            ),
            delete_run,
            insert_run,
            format!("DROP TABLE {stage}"),
        ])
    }
}

/// Splits a SQL file into statements at `;`, ignoring semicolons inside string literals, quoted identifiers,
/// `--` and `/* */` comments and `$$` bodies. Statements that hold only comments and space are dropped.
pub fn split_statements(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    let push = |from: usize, to: usize, has_code: bool, out: &mut Vec<String>| {
        let s = text.get(from..to).unwrap_or("").trim();
        if has_code && !s.is_empty() {
            out.push(s.to_owned());
        }
    };
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                has_code = true;
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                has_code = true;
                i += 2;
                while i < b.len() && !(b[i] == b'$' && b.get(i + 1) == Some(&b'$')) {
                    i += 1;
                }
                i += 2;
            }
            b';' => {
                push(start, i, has_code, &mut out);
                has_code = false;
                i += 1;
                start = i;
            }
            c => {
                if !c.is_ascii_whitespace() {
                    has_code = true;
                }
                i += 1;
            }
        }
    }
    push(start, b.len().min(text.len()), has_code, &mut out);
    out
}

/// A 64-bit FNV-1a digest, as 16 hex digits: detects a migration file edited after it was applied.
pub fn checksum(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_strict() {
        assert!(Ident::new("t", "images").is_ok());
        assert!(Ident::new("t", "Images").is_err());
        assert!(Ident::new("t", "a; drop").is_err());
        assert!(TableName::parse("s3shift.images").is_ok());
        assert!(TableName::parse("images").is_err());
        assert!(safe_literal("x", "s3://b/p/run-1/manifest.json").is_ok());
        assert!(safe_literal("x", "it's").is_err());
        assert!(safe_literal("x", "a b").is_err());
        assert!(IamRole::parse("arn:aws:iam::123456789012:role/s3shift-copy").is_ok());
        assert!(IamRole::parse("arn:aws:iam::1:role/x' --").is_err());
        assert_eq!(IamRole::parse("DEFAULT").ok(), Some(IamRole::Default));
    }

    #[test]
    fn splitting_respects_quotes_and_comments() {
        let text = "-- header; not a statement\nCREATE TABLE a (x VARCHAR(3)); \
                    INSERT INTO a VALUES ('x;y'), (\"q;\"); /* c; */ SELECT 1;\n-- trailing;\n";
        let got = split_statements(text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[1].contains("'x;y'"));
        assert!(got[2].ends_with("SELECT 1"));
    }

    /// The load transaction a reviewer reads in `tests/golden/load.sql`: every change to what a load sends to
    /// Redshift shows there as a diff. `S3SHIFT_BLESS=1` rewrites the file.
    #[test]
    fn the_load_transaction_matches_its_golden_file() -> Result<()> {
        let load = LoadSql {
            target: TableName::parse("s3shift.images")?,
            manifest_url: "s3://staging-bucket/staged/api-images/api-images-20261128T041627Z-1/manifest.json"
                .into(),
            iam_role: IamRole::parse("arn:aws:iam::123456789012:role/s3shift-copy")?,
            expected_rows: 1200,
            run: RunRow {
                run_id: "api-images-20261128T041627Z-1".into(),
                job: "api-images".into(),
                source: "api".into(),
                started_at: DateTime::<Utc>::from_timestamp(1_795_840_587, 0).unwrap_or_default(),
                objects_staged: 1200,
                files_staged: 2,
            },
            fence: Fence {
                lease: "s3://staging-bucket/staged/api-images/_state/lease.json".into(),
                generation: 1_795_840_587_000_001,
            },
            merge_range: Some(MergeRange::around(
                DateTime::<Utc>::from_timestamp(1_795_800_000, 0).unwrap_or_default(),
                DateTime::<Utc>::from_timestamp(1_795_840_000, 0).unwrap_or_default(),
                DateTime::<Utc>::from_timestamp(1_794_800_000, 0),
            )),
        };
        let names = |n: usize| match n {
            0 => "the load lock: taken before any statement takes the snapshot",
            FENCE_CHECK => "the fence check: fails when a later holder of the lease committed",
            COPY_STATEMENT => "COPY of the staged files",
            ROW_COUNT_CHECK => "the row-count check",
            _ => "",
        };
        let mut text = String::from(
            "-- The load transaction of one run: one BatchExecuteStatement, as s3shift_redshift::sql::LoadSql \
             builds it.\n-- Generated by the test the_load_transaction_matches_its_golden_file; S3SHIFT_BLESS=1 \
             rewrites it.\n",
        );
        for (n, sql) in load.statements()?.iter().enumerate() {
            let name = names(n);
            let sep = if name.is_empty() { "" } else { ": " };
            text.push_str(&format!("\n-- sub-statement {}{sep}{name}\n{sql};\n", n + 1));
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/load.sql");
        if std::env::var_os("S3SHIFT_BLESS").is_some() {
            std::fs::write(&path, &text).map_err(|e| Error::Table {
                table: path.display().to_string(),
                problem: e.to_string(),
            })?;
            return Ok(());
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            golden == text,
            "{} differs from the load SQL (S3SHIFT_BLESS=1 rewrites it; review the diff):\n{text}",
            path.display()
        );
        Ok(())
    }

    #[test]
    fn load_statements_hold_no_untrusted_text() -> Result<()> {
        let load = LoadSql {
            target: TableName::parse("s3shift.images")?,
            manifest_url: "s3://staging/api-images/run-1/manifest.json".into(),
            iam_role: IamRole::Default,
            expected_rows: 12,
            run: RunRow {
                run_id: "api-images-20261128T041627Z-1".into(),
                job: "api-images".into(),
                source: "api".into(),
                started_at: DateTime::<Utc>::UNIX_EPOCH,
                objects_staged: 12,
                files_staged: 1,
            },
            fence: Fence {
                lease: "s3://staging/api-images/_state/lease.json".into(),
                generation: 7,
            },
            merge_range: None,
        };
        let sql = load.statements()?;
        assert_eq!(sql.len(), 14);
        assert!(sql[0].starts_with("LOCK s3shift.load_fences"));
        assert!(sql[FENCE_CHECK].contains("<= 7"));
        assert!(sql[COPY_STATEMENT].starts_with("COPY s3shift_stage FROM 's3://staging/"));
        assert!(sql[ROW_COUNT_CHECK].contains("COUNT(*) = 12"));
        let bad = LoadSql {
            manifest_url: "s3://x/'; drop table y; --".into(),
            ..load
        };
        assert!(bad.statements().is_err());
        Ok(())
    }
}
