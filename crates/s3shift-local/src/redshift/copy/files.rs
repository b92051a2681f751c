//! The files of a COPY, read through the S3 endpoint the server was given (a real S3 client: never a path
//! shortcut): the manifest and its entries, or every object under a prefix.

use super::{CopySpec, Entry};

/// Why a file of a COPY could not be read.
pub(crate) enum Unread {
    /// The object does not exist (a manifest entry may allow that).
    Missing,
    /// Any other failure, in Redshift's words.
    Failed(String),
}

/// The object's bytes.
pub(crate) async fn fetch(client: &aws_sdk_s3::Client, url: &str) -> Result<bytes::Bytes, Unread> {
    let (bucket, key) = super::split_url(url).map_err(|e| Unread::Failed(format!("ERROR: {e}")))?;
    match client.get_object().bucket(&bucket).key(&key).send().await {
        Ok(out) => out.body.collect().await.map(|b| b.into_bytes()).map_err(|e| {
            Unread::Failed(format!(
                "ERROR: S3ServiceException:reading '{url}': {e} (streaming error)"
            ))
        }),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let svc = e.into_service_error();
            if svc.is_no_such_key() {
                return Err(Unread::Missing);
            }
            // Redshift's COPY names S3's failure an S3ServiceException with its status and error code
            // ("Troubleshooting data loads"); without a response the connection itself failed.
            let code = svc.meta().code().unwrap_or("none").to_owned();
            Err(Unread::Failed(match status {
                Some(status) => {
                    format!("ERROR: S3ServiceException:{svc},Status {status},Error {code} reading '{url}'")
                }
                None => format!("ERROR: S3ServiceException:connection to S3 failed reading '{url}': {svc}"),
            }))
        }
    }
}

/// The files a COPY loads: the manifest's entries, or every object under the prefix.
pub(crate) async fn list_entries(client: &aws_sdk_s3::Client, spec: &CopySpec) -> Result<Vec<Entry>, String> {
    if spec.manifest {
        let body = match fetch(client, &spec.from).await {
            Ok(b) => b,
            Err(Unread::Failed(e)) => return Err(e),
            Err(Unread::Missing) => {
                return Err(format!("ERROR: Manifest file '{}' does not exist", spec.from));
            }
        };
        return super::parse_manifest(&spec.from, &body);
    }
    let (bucket, prefix) = super::split_url(&spec.from).map_err(|e| format!("ERROR: {e}"))?;
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "ERROR: S3 error listing '{}': {}",
                    spec.from,
                    e.into_service_error()
                )
            })?;
        for o in page.contents() {
            if let Some(k) = o.key().filter(|k| !k.ends_with('/')) {
                out.push(Entry {
                    url: format!("s3://{bucket}/{k}"),
                    mandatory: true,
                    content_length: None,
                });
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    if out.is_empty() {
        return Err(format!(
            "ERROR: The specified S3 prefix '{}' does not exist",
            spec.from
        ));
    }
    Ok(out)
}
