//! CompleteMultipartUpload as S3 answers it, around s3s-fs's assembly of the parts:
//!
//! - the parts named must have been uploaded with the ETags given, in ascending order ("CompleteMultipartUpload":
//!   `InvalidPart`, `InvalidPartOrder`); s3s-fs took any ETag;
//! - an unknown upload id is `NoSuchUpload` (404), and completing an upload again answers what the first
//!   completion answered (S3: 200), where s3s-fs answered 400 and 403;
//! - the object left behind carries no checksum of the object it replaced: s3s-fs kept the old object's
//!   `x-amz-checksum-*`, so a client that validates checksums (botocore does) failed reading a correct body. The
//!   assembled object has none (S3 would have a composite checksum when the upload asked for one; none is what
//!   a reader can still trust).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use s3s::dto::{CompleteMultipartUploadInput, CompleteMultipartUploadOutput, ETag};
use s3s::{S3Result, s3_error};

/// What the stand-in remembers of multipart uploads while it runs.
#[derive(Debug, Default)]
pub(crate) struct Uploads {
    /// ETag of each uploaded part, by upload id and part number.
    parts: Mutex<HashMap<String, BTreeMap<i32, String>>>,
    /// Completed uploads: (bucket, key, ETag) by upload id.
    completed: Mutex<HashMap<String, (String, String, String)>>,
}

fn unquoted(e: &str) -> &str {
    e.trim_matches('"')
}

impl Uploads {
    /// Records a part's ETag after s3s-fs stored it.
    pub(crate) fn part_uploaded(&self, upload_id: &str, part: i32, etag: Option<&ETag>) {
        if let (Ok(mut parts), Some(etag)) = (self.parts.lock(), etag) {
            parts
                .entry(upload_id.to_owned())
                .or_default()
                .insert(part, unquoted(etag.value()).to_owned());
        }
    }

    /// Forgets an aborted upload.
    pub(crate) fn aborted(&self, upload_id: &str) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.remove(upload_id);
        }
    }

    /// Checks a completion before s3s-fs assembles anything. `Ok(Some(output))` answers a repeated completion
    /// without doing anything; `Ok(None)` lets the completion go ahead.
    pub(crate) fn before_complete(
        &self,
        root: &Path,
        input: &CompleteMultipartUploadInput,
    ) -> S3Result<Option<CompleteMultipartUploadOutput>> {
        let id = &input.upload_id;
        if !root.join(format!(".upload-{id}.json")).exists() {
            let done = self.completed.lock().ok().and_then(|c| c.get(id).cloned());
            return match done {
                Some((bucket, key, etag)) if bucket == input.bucket && key == input.key => {
                    Ok(Some(CompleteMultipartUploadOutput {
                        bucket: Some(bucket),
                        key: Some(key),
                        e_tag: Some(ETag::Strong(etag)),
                        ..Default::default()
                    }))
                }
                _ => Err(s3_error!(
                    NoSuchUpload,
                    "The specified upload does not exist. The upload ID may be invalid, or the upload may have \
                     been aborted or completed."
                )),
            };
        }
        let named = input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut last = 0;
        for p in named {
            let n = p.part_number.unwrap_or(0);
            if n <= last {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by part number."
                ));
            }
            last = n;
        }
        let known = self.parts.lock().ok().and_then(|p| p.get(id).cloned());
        for p in named {
            let n = p.part_number.unwrap_or(0);
            let uploaded = root.join(format!(".upload_id-{id}.part-{n}")).exists();
            // Parts uploaded before a restart have no recorded ETag: their presence is all that is checked.
            let etag_ok = match (known.as_ref().and_then(|k| k.get(&n)), &p.e_tag) {
                (Some(have), Some(given)) => have == unquoted(given.value()),
                (Some(_), None) => false,
                (None, _) => true,
            };
            if !uploaded || !etag_ok {
                return Err(s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been uploaded, \
                     or the specified entity tag may not match the part's entity tag."
                ));
            }
        }
        Ok(None)
    }

    /// After s3s-fs assembled the object (of `key`, kept at `path_key`, see `layout`): drops the checksums of the object it replaced, and remembers the
    /// completion for a repeated request.
    pub(crate) fn after_complete(
        &self,
        root: &Path,
        bucket: &str,
        path_key: &str,
        key: &str,
        upload_id: &str,
    ) -> S3Result<()> {
        let path = super::side_file(root, bucket, path_key, "internal");
        let mut info: serde_json::Map<String, serde_json::Value> = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        info.retain(|k, _| !k.starts_with("checksum_"));
        let etag = info
            .get("e_tag")
            .and_then(|e| e.as_str())
            .unwrap_or_default()
            .to_owned();
        let body = serde_json::to_vec(&info).map_err(|e| s3_error!(InternalError, "{e}"))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| s3_error!(InternalError, "updating the object's information: {e}"))?;
        if let Ok(mut parts) = self.parts.lock() {
            parts.remove(upload_id);
        }
        if let Ok(mut done) = self.completed.lock() {
            done.insert(upload_id.to_owned(), (bucket.to_owned(), key.to_owned(), etag));
        }
        Ok(())
    }
}
