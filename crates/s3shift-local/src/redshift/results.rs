//! Query results in the Data API's shape: typed `Field`s and `ColumnMetadata`, converted from Arrow batches.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit, UInt8Type, UInt16Type, UInt32Type,
};
use serde_json::{Value, json};

/// A finished result set.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryResult {
    pub(crate) columns: Vec<Value>,
    pub(crate) rows: Vec<Vec<Value>>,
    /// Approximate size in bytes (what DescribeStatement reports as ResultSize).
    pub(crate) bytes: i64,
}

/// The Redshift type name the Data API reports for an Arrow type.
fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Boolean => "bool",
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "int2",
        DataType::Int32 | DataType::UInt16 => "int4",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "int8",
        DataType::Float32 => "float4",
        DataType::Float64 => "float8",
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => "numeric",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, None) => "timestamp",
        DataType::Timestamp(_, Some(_)) => "timestamptz",
        DataType::Binary | DataType::LargeBinary => "varbyte",
        _ => "varchar",
    }
}

/// Why a result cannot be returned; shown in Redshift's words.
#[derive(Debug)]
pub(crate) enum ResultError {
    /// An integer SUM beyond BIGINT.
    Overflow,
    /// A timestamp outside chrono's range.
    TimestampRange,
    /// A column type the Data API's records cannot carry.
    Type {
        /// The type.
        ty: DataType,
        /// Arrow's error.
        error: arrow::error::ArrowError,
    },
    /// Arrow refused a cast or a batch's shape.
    Shape(arrow::error::ArrowError),
}

impl std::fmt::Display for ResultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ERROR: ")?;
        match self {
            Self::Overflow => {
                f.write_str("Overflow (Long valid range -9223372036854775808 to 9223372036854775807)")
            }
            Self::TimestampRange => f.write_str("timestamp out of range"),
            Self::Type { ty, error } => write!(f, "cannot return a {ty} column: {error}"),
            Self::Shape(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ResultError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Type { error, .. } | Self::Shape(error) => Some(error),
            _ => None,
        }
    }
}

/// At the edge: the engine passes Redshift's text.
impl From<ResultError> for String {
    fn from(e: ResultError) -> Self {
        e.to_string()
    }
}

/// Casts the columns at `columns` (DuckDB HUGEINTs, arriving as DECIMAL(38,0)) to BIGINT, as Redshift types an
/// integer SUM; a value beyond BIGINT is Redshift's overflow error.
pub(crate) fn narrow_hugeints(
    schema: &arrow::datatypes::SchemaRef,
    batches: Vec<RecordBatch>,
    columns: &[usize],
) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>), ResultError> {
    if columns.is_empty() {
        return Ok((schema.clone(), batches));
    }
    let fields: Vec<arrow::datatypes::Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let f = f.as_ref().clone();
            if columns.contains(&i) {
                f.with_data_type(DataType::Int64)
            } else {
                f
            }
        })
        .collect();
    let narrowed = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    let strict = arrow::compute::CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let mut arrays = batch.columns().to_vec();
        for &i in columns {
            if let Some(a) = arrays.get_mut(i) {
                *a = arrow::compute::cast_with_options(a, &DataType::Int64, &strict)
                    .map_err(|_| ResultError::Overflow)?;
            }
        }
        out.push(RecordBatch::try_new(narrowed.clone(), arrays).map_err(ResultError::Shape)?);
    }
    Ok((narrowed, out))
}

/// Converts batches to the Data API's records and column metadata.
pub(crate) fn from_batches(
    schema: &arrow::datatypes::Schema,
    batches: &[RecordBatch],
) -> Result<QueryResult, ResultError> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let (precision, scale) = match f.data_type() {
                DataType::Decimal128(p, s) => (i64::from(*p), i64::from(*s)),
                _ => (0, 0),
            };
            json!({
                "name": f.name(), "label": f.name(), "typeName": type_name(f.data_type()),
                "nullable": if f.is_nullable() { 1 } else { 0 }, "isSigned": matches!(f.data_type(),
                    DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Float32
                    | DataType::Float64 | DataType::Decimal128(_, _)),
                "isCaseSensitive": matches!(f.data_type(), DataType::Utf8), "isCurrency": false,
                "precision": precision, "scale": scale, "length": 0, "schemaName": "", "tableName": "",
            })
        })
        .collect();
    let mut rows = Vec::new();
    let mut bytes = 0i64;
    for batch in batches {
        let cols: Vec<Vec<Value>> = batch.columns().iter().map(fields).collect::<Result<_, _>>()?;
        for r in 0..batch.num_rows() {
            let row: Vec<Value> = cols.iter().map(|c| c[r].clone()).collect();
            bytes += row.iter().map(|v| v.to_string().len() as i64).sum::<i64>();
            rows.push(row);
        }
    }
    Ok(QueryResult { columns, rows, bytes })
}

fn fields(a: &ArrayRef) -> Result<Vec<Value>, ResultError> {
    let n = a.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! ints {
        ($t:ty) => {{
            let p = a.as_primitive::<$t>();
            for i in 0..n {
                out.push(if p.is_null(i) { json!({"isNull": true}) } else { json!({"longValue": i64::from(p.value(i))}) });
            }
        }};
    }
    match a.data_type() {
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => ints!(UInt8Type),
        DataType::UInt16 => ints!(UInt16Type),
        DataType::UInt32 => ints!(UInt32Type),
        DataType::Boolean => {
            let b = a.as_boolean();
            for i in 0..n {
                out.push(if b.is_null(i) {
                    json!({"isNull": true})
                } else {
                    json!({"booleanValue": b.value(i)})
                });
            }
        }
        DataType::Float32 | DataType::Float64 => {
            let f = arrow::compute::cast(a, &DataType::Float64).map_err(ResultError::Shape)?;
            let f = f.as_primitive::<arrow::datatypes::Float64Type>();
            for i in 0..n {
                out.push(if f.is_null(i) {
                    json!({"isNull": true})
                } else {
                    json!({"doubleValue": f.value(i)})
                });
            }
        }
        DataType::Timestamp(_, tz) => {
            let us = arrow::compute::cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))
                .map_err(ResultError::Shape)?;
            let t = us.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            for i in 0..n {
                if t.is_null(i) {
                    out.push(json!({"isNull": true}));
                    continue;
                }
                let dt = t.value_as_datetime(i).ok_or(ResultError::TimestampRange)?;
                let mut s = dt.format("%Y-%m-%d %H:%M:%S%.f").to_string();
                if tz.is_some() {
                    s.push_str("+00");
                }
                out.push(json!({"stringValue": s}));
            }
        }
        _ => {
            let s = arrow::compute::cast(a, &DataType::Utf8).map_err(|error| ResultError::Type {
                ty: a.data_type().clone(),
                error,
            })?;
            let s = s.as_string::<i32>();
            for i in 0..n {
                out.push(if s.is_null(i) {
                    json!({"isNull": true})
                } else {
                    json!({"stringValue": s.value(i)})
                });
            }
        }
    }
    Ok(out)
}
