//! The files of a COPY, read through the S3 endpoint the server was given (a real S3 client: never a path
//! shortcut): the manifest and its entries, or every object under a prefix.

use super::{CopyError, CopySpec, Entry};

/// Why a file of a COPY could not be read.
pub(crate) enum Unread {
    /// The object does not exist (a manifest entry may allow that).
    Missing,
    /// Any other failure.
    Failed(CopyError),
}

/// The object's bytes.
pub(crate) async fn fetch(client: &aws_sdk_s3::Client, url: &str) -> Result<bytes::Bytes, Unread> {
    let (bucket, key) = super::split_url(url).map_err(Unread::Failed)?;
    match client.get_object().bucket(&bucket).key(&key).send().await {
        Ok(out) => out.body.collect().await.map(|b| b.into_bytes()).map_err(|e| {
            Unread::Failed(CopyError::Stream {
                url: url.to_owned(),
                message: e.to_string(),
            })
        }),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let svc = e.into_service_error();
            if svc.is_no_such_key() {
                return Err(Unread::Missing);
            }
            Err(Unread::Failed(CopyError::S3 {
                url: url.to_owned(),
                message: svc.to_string(),
                status,
                code: svc.meta().code().unwrap_or("none").to_owned(),
            }))
        }
    }
}

/// The files a COPY loads: the manifest's entries, or every object under the prefix.
pub(crate) async fn list_entries(
    client: &aws_sdk_s3::Client,
    spec: &CopySpec,
) -> Result<Vec<Entry>, CopyError> {
    if spec.manifest {
        let body = match fetch(client, &spec.from).await {
            Ok(b) => b,
            Err(Unread::Failed(e)) => return Err(e),
            Err(Unread::Missing) => return Err(CopyError::ManifestMissing(spec.from.clone())),
        };
        return super::parse_manifest(&spec.from, &body);
    }
    let (bucket, prefix) = super::split_url(&spec.from)?;
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
            .map_err(|e| CopyError::Listing {
                url: spec.from.clone(),
                message: e.into_service_error().to_string(),
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
        return Err(CopyError::EmptyPrefix(spec.from.clone()));
    }
    Ok(out)
}
