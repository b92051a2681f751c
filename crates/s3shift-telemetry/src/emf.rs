//! CloudWatch Embedded Metric Format: a log line that CloudWatch Logs turns into metrics.
//!
//! One line holds the `_aws` metadata (timestamp, namespace, dimension sets, metric names and units) and the
//! values as top-level members. Metric names follow `s3shift_<thing>_<unit>`; dimensions are low-cardinality
//! (the job), never object keys.

use serde_json::{Map, Value, json};

/// CloudWatch units used by s3shift's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Bytes.
    Bytes,
    /// Seconds.
    Seconds,
    /// No unit (hours of slack are reported as a plain number in their name).
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Bytes => "Bytes",
            Self::Seconds => "Seconds",
            Self::None => "None",
        }
    }
}

/// Metrics that share one namespace and one set of dimensions.
#[derive(Debug, Clone, Default)]
pub struct MetricSet {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Dimension names and values.
    pub dimensions: Vec<(String, String)>,
    /// Metric name, unit, value.
    pub metrics: Vec<(String, Unit, f64)>,
    /// Extra members kept in the log line but not turned into metrics (a run id, say).
    pub properties: Vec<(String, Value)>,
}

impl MetricSet {
    /// The EMF line (no trailing newline) for `timestamp_ms` (milliseconds since the epoch).
    pub fn to_line(&self, timestamp_ms: i64) -> String {
        let mut root = Map::new();
        let names: Vec<Value> = self
            .dimensions
            .iter()
            .map(|(k, _)| Value::from(k.clone()))
            .collect();
        let defs: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": [names], "Metrics": defs}],
            }),
        );
        for (k, v) in &self.dimensions {
            root.insert(k.clone(), Value::from(v.clone()));
        }
        for (k, v) in &self.properties {
            root.insert(k.clone(), v.clone());
        }
        for (name, _, v) in &self.metrics {
            let value = serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number);
            root.insert(name.clone(), value);
        }
        Value::Object(root).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_what_it_carries() -> Result<(), serde_json::Error> {
        let set = MetricSet {
            namespace: "s3shift".into(),
            dimensions: vec![("job".into(), "api-images".into())],
            metrics: vec![
                ("s3shift_objects_loaded_count".into(), Unit::Count, 42.0),
                ("s3shift_bytes_read_bytes".into(), Unit::Bytes, 1024.0),
            ],
            properties: vec![("run_id".into(), Value::from("api-images-1"))],
        };
        let v: Value = serde_json::from_str(&set.to_line(1_700_000_000_000))?;
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "s3shift");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "job");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"], "Bytes");
        assert_eq!(v["job"], "api-images");
        assert_eq!(v["s3shift_objects_loaded_count"], 42.0);
        assert_eq!(v["run_id"], "api-images-1");
        Ok(())
    }
}
