//! ListObjectsV2 without a delimiter, in one blocking call per page.
//!
//! s3s-fs 0.14 answers every page by walking the whole bucket with two `tokio::fs` round trips per object, and
//! the wrapper then needed a HeadObject per listed key for its ETag: a 100,000-object bucket took minutes to list.
//! This reads the same layout s3s-fs writes: it walks only the folder the prefix names, takes names without
//! `stat` (the directory entry's type is enough), sorts, keeps the page after the continuation point, and only
//! then reads size, time and the stored ETag of the (at most `max_keys`) objects it returns. The answer is the
//! one s3s-fs gives (keys in order, the last key as continuation token), with ETags.

use std::path::{Path, PathBuf};

use s3s::dto::{ETag, ListObjectsV2Input, ListObjectsV2Output, Object, Timestamp};
use s3s::{S3Result, s3_error};

/// Whether the fast path answers this request exactly as the s3s-fs path would.
pub(crate) fn handles(input: &ListObjectsV2Input) -> bool {
    input.delimiter.is_none() && input.encoding_type.is_none() && input.fetch_owner.is_none_or(|f| !f)
}

/// Every key under `dir` (relative to `bucket_root`, `/`-separated) that starts with `prefix` and sorts after
/// `after`.
fn collect(
    bucket_root: &Path,
    dir: &Path,
    prefix: &str,
    after: Option<&str>,
    out: &mut Vec<String>,
) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Ok(rel) = path.strip_prefix(bucket_root) else {
            continue;
        };
        let Some(key) = rel.to_str().map(|s| s.replace(std::path::MAIN_SEPARATOR, "/")) else {
            continue;
        };
        if entry.file_type()?.is_dir() {
            // A folder can only hold matching keys if it and the prefix agree on their common part.
            let folder = format!("{key}/");
            if folder.starts_with(prefix) || prefix.starts_with(&folder) {
                collect(bucket_root, &path, prefix, after, out)?;
            }
            continue;
        }
        if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
            out.push(key);
        }
    }
    Ok(())
}

/// One page of ListObjectsV2 over `root/bucket`; `Ok(None)` sends the request to s3s-fs instead.
pub(crate) fn list(root: &Path, input: &ListObjectsV2Input) -> S3Result<Option<ListObjectsV2Output>> {
    let bucket_root = root.join(&input.bucket);
    if !bucket_root.is_dir() {
        return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"));
    }
    let prefix = input.prefix.as_deref().unwrap_or("").trim_start_matches('/');
    if prefix.split('/').any(|seg| seg == "..") {
        return Ok(None);
    }
    let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000);
    let after = match (input.continuation_token.as_deref(), input.start_after.as_deref()) {
        (Some(c), Some(s)) => Some(if c >= s { c } else { s }),
        (c, s) => c.or(s),
    };
    // Start at the deepest folder the prefix names.
    let start: PathBuf = match prefix.rfind('/') {
        Some(i) => bucket_root.join(&prefix[..i]),
        None => bucket_root.clone(),
    };
    let mut keys = Vec::new();
    collect(&bucket_root, &start, prefix, after, &mut keys)
        .map_err(|e| s3_error!(InternalError, "listing: {e}"))?;
    keys.sort_unstable();
    let limit = usize::try_from(max_keys).unwrap_or(0);
    let is_truncated = limit > 0 && keys.len() > limit;
    keys.truncate(limit);
    let mut contents = Vec::with_capacity(keys.len());
    for key in &keys {
        let meta = match std::fs::metadata(bucket_root.join(key)) {
            Ok(m) => m,
            // Deleted between the walk and now: S3 would not list it either.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(s3_error!(InternalError, "listing {key}: {e}")),
        };
        let info: serde_json::Value = std::fs::read(super::side_file(root, &input.bucket, key, "internal"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let Some(etag) = info.get("e_tag").and_then(|e| e.as_str()) else {
            // Written by something else than s3s-fs: let s3s-fs answer the whole page.
            return Ok(None);
        };
        let modified = meta.modified().map_err(|e| s3_error!(InternalError, "{e}"))?;
        contents.push(Object {
            key: Some(key.clone()),
            last_modified: Some(Timestamp::from(modified)),
            size: Some(i64::try_from(meta.len()).unwrap_or(i64::MAX)),
            e_tag: Some(ETag::Strong(etag.trim_matches('"').to_owned())),
            ..Default::default()
        });
    }
    let next = if is_truncated { keys.last().cloned() } else { None };
    Ok(Some(ListObjectsV2Output {
        key_count: Some(i32::try_from(contents.len()).unwrap_or(i32::MAX)),
        max_keys: Some(max_keys),
        is_truncated: Some(is_truncated),
        contents: (!contents.is_empty()).then_some(contents),
        continuation_token: input.continuation_token.clone(),
        next_continuation_token: next,
        name: Some(input.bucket.clone()),
        prefix: input.prefix.clone(),
        start_after: input.start_after.clone(),
        ..Default::default()
    }))
}
