//! The COPY manifest: which files one COPY loads.

use serde::{Deserialize, Serialize};

/// A Redshift COPY manifest. Every entry is `mandatory`, so a missing file fails the COPY instead of loading
/// less than was staged, and carries `meta.content_length`, which COPY of Parquet requires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyManifest {
    /// The files, in order.
    pub entries: Vec<ManifestEntry>,
}

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// `s3://bucket/key` of the file.
    pub url: String,
    /// Whether COPY must fail when the file is missing (always true here).
    pub mandatory: bool,
    /// File metadata.
    pub meta: EntryMeta,
}

/// `meta` of a manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryMeta {
    /// The file's size in bytes.
    pub content_length: u64,
}

impl CopyManifest {
    /// Adds a mandatory file.
    pub fn push(&mut self, url: String, content_length: u64) {
        self.entries.push(ManifestEntry {
            url,
            mandatory: true,
            meta: EntryMeta { content_length },
        });
    }

    /// The manifest as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_has_what_copy_needs() -> Result<(), serde_json::Error> {
        let mut m = CopyManifest::default();
        m.push("s3://staging/job/run/part-00000.parquet".into(), 1234);
        let v: serde_json::Value = serde_json::from_slice(&m.to_json())?;
        assert_eq!(v["entries"][0]["mandatory"], true);
        assert_eq!(v["entries"][0]["meta"]["content_length"], 1234);
        assert_eq!(v["entries"][0]["url"], "s3://staging/job/run/part-00000.parquet");
        Ok(())
    }
}
