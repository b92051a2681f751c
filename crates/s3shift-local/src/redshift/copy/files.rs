//! The files of a COPY, read through the S3 endpoint the server was given (a real S3 client: never a path
//! shortcut): the manifest and its entries, or every object under a prefix.

use super::{CopySpec, Entry};

/// The object does not exist.
pub(crate) struct Missing;

/// The object's bytes; `Err(Missing)` when it does not exist, `Ok(Err(..))` for any other failure.
pub(crate) async fn fetch(
    client: &aws_sdk_s3::Client,
    url: &str,
) -> Result<Result<bytes::Bytes, String>, Missing> {
    let (bucket, key) = match super::split_url(url) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("ERROR: {e}"))),
    };
    match client.get_object().bucket(&bucket).key(&key).send().await {
        Ok(out) => Ok(out
            .body
            .collect()
            .await
            .map(|b| b.into_bytes())
            .map_err(|e| format!("ERROR: S3ServiceException:reading '{url}': {e} (streaming error)"))),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let svc = e.into_service_error();
            if svc.is_no_such_key() {
                return Err(Missing);
            }
            // Redshift's COPY names S3's failure an S3ServiceException with its status and error code
            // ("Troubleshooting data loads"); without a response the connection itself failed.
            let code = svc.meta().code().unwrap_or("none").to_owned();
            Ok(Err(match status {
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
            Ok(b) => b?,
            Err(Missing) => return Err(format!("ERROR: Manifest file '{}' does not exist", spec.from)),
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
