//! `AT TIME ZONE 'UTC'`, which the load's merge uses to turn a staged TIMESTAMP into TIMESTAMPTZ.
//!
//! DuckDB parses `x AT TIME ZONE z` as `timezone(z, x)` and leaves that form to its ICU extension, which the
//! stand-in does not build. This module adds the two overloads Redshift documents ("AT TIME ZONE function":
//! "TIMESTAMPTZ when used with a TIMESTAMP expression. TIMESTAMP when used with a TIMESTAMPTZ expression") for
//! the zone UTC, where both are the same instant and the same wall-clock time. Any other zone is refused with
//! an error that says so, never answered wrongly.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use duckdb::Connection;
use duckdb::vscalar::{ArrowFunctionSignature, VArrowScalar};

/// The zone names taken as UTC.
const UTC_NAMES: &[&str] = &["utc", "gmt", "etc/utc", "zulu", "z"];

struct AtTimeZone;

impl VArrowScalar for AtTimeZone {
    type State = ();

    fn invoke(_: &(), input: RecordBatch) -> Result<Arc<dyn Array>, Box<dyn std::error::Error>> {
        let (Some(zones), Some(values)) = (input.column(0).as_string_opt::<i32>(), input.columns().get(1))
        else {
            return Err("AT TIME ZONE takes a zone name and a timestamp".into());
        };
        for zone in zones.iter().flatten() {
            if !UTC_NAMES.contains(&zone.to_ascii_lowercase().as_str()) {
                return Err(format!(
                    "s3shift-local supports AT TIME ZONE 'UTC' only, not '{zone}' (its DuckDB has no time zone \
                     database)"
                )
                .into());
            }
        }
        let micros = values
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or("AT TIME ZONE takes a TIMESTAMP or a TIMESTAMPTZ")?;
        let plain = TimestampMicrosecondArray::new(micros.values().clone(), micros.nulls().cloned());
        Ok(match values.data_type() {
            DataType::Timestamp(_, None) => Arc::new(plain.with_timezone("UTC")),
            _ => Arc::new(plain),
        })
    }

    fn signatures() -> Vec<ArrowFunctionSignature> {
        let local = DataType::Timestamp(TimeUnit::Microsecond, None);
        let instant = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        vec![
            ArrowFunctionSignature::exact(vec![DataType::Utf8, local.clone()], instant.clone()),
            ArrowFunctionSignature::exact(vec![DataType::Utf8, instant], local),
        ]
    }
}

/// Adds the overloads to the database of `conn` (its system catalog, so every connection sees them).
pub(crate) fn register(conn: &Connection) -> duckdb::Result<()> {
    conn.register_scalar_function::<AtTimeZone>("timezone")
}
