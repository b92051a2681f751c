//! GetObject in one blocking call.
//!
//! s3s-fs serves a GET through about twenty-five `tokio::fs` operations (each a round trip to the blocking
//! pool: open, metadata, two sidecar files, then the body in 4 KiB reads); under 64 concurrent clients the
//! thread hand-offs cost more than the reads. This reads the same files, in the same layout s3s-fs 0.14 writes
//! them, with one `spawn_blocking` and one positioned read of the requested range. Requests it does not handle
//! (other conditional GETs, part numbers, versions, SSE-C, objects without a stored ETag) go to s3s-fs
//! unchanged. `If-Match` is answered here, as S3 does (412 PreconditionFailed when the ETag differs): s3s-fs
//! 0.14 ignores it on GET, and the pipeline sends it with every read so a replaced object is never read under
//! its old identity.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use s3s::dto::{
    ContentType, ETag, ETagCondition, GetObjectInput, GetObjectOutput, Metadata, Range, StreamingBlob,
    Timestamp,
};
use s3s::{Body, S3Error, S3Result, s3_error};

/// Whether the fast path can answer this request exactly as s3s-fs would.
pub(crate) fn handles(input: &GetObjectInput) -> bool {
    input.if_none_match.is_none()
        && input.if_modified_since.is_none()
        && input.if_unmodified_since.is_none()
        && input.part_number.is_none()
        && input.version_id.is_none()
        && input.sse_customer_algorithm.is_none()
}

/// The object's file under the buckets folder; `None` for keys that would leave it.
fn object_path(root: &Path, bucket: &str, key: &str) -> Option<PathBuf> {
    let rel = Path::new(key);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(root.join(bucket).join(rel))
}

/// Reads what GetObject returns; `Ok(None)` when the fast path cannot answer (the caller falls back).
pub(crate) fn read(
    root: &Path,
    bucket: &str,
    key: &str,
    range: Option<Range>,
    if_match: Option<&ETagCondition>,
) -> S3Result<Option<GetObjectOutput>> {
    let Some(path) = object_path(root, bucket, key) else {
        return Ok(None);
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
        }
        Err(_) => return Ok(None),
    };
    let meta = file.metadata().map_err(|e| s3_error!(InternalError, "{e}"))?;
    if !meta.is_file() {
        return Err(s3_error!(NoSuchKey, "The specified key does not exist."));
    }
    let info = std::fs::read(super::side_file(root, bucket, key, "internal"));
    let info: serde_json::Value = info
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let Some(etag) = info.get("e_tag").and_then(|e| e.as_str()).map(str::to_owned) else {
        return Ok(None);
    };
    if let Some(ETagCondition::ETag(wanted)) = if_match
        && wanted.value().trim_matches('"') != etag.trim_matches('"')
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ));
    }
    let len = meta.len();
    let (span, content_range) = match range {
        None => (0..len, None),
        Some(r) => {
            let span = r
                .check(len)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            let cr = format!("bytes {}-{}/{len}", span.start, span.end - 1);
            (span, Some(cr))
        }
    };
    let mut buf =
        vec![0u8; usize::try_from(span.end - span.start).map_err(|e| s3_error!(InternalError, "{e}"))?];
    file.read_exact_at(&mut buf, span.start)
        .map_err(|e| s3_error!(InternalError, "reading {key}: {e}"))?;
    let attrs: serde_json::Value = std::fs::read(super::side_file(root, bucket, key, "metadata"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let text = |k: &str| attrs.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let metadata: Option<Metadata> = attrs
        .get("user_metadata")
        .and_then(|m| serde_json::from_value(m.clone()).ok());
    let content_type: Option<ContentType> = text("content_type").and_then(|t| t.parse().ok());
    let modified = meta.modified().map_err(|e| s3_error!(InternalError, "{e}"))?;
    let size = buf.len() as i64;
    // Like S3, stored checksums come back only for a GET of the whole object.
    let whole = span.start == 0 && span.end == len;
    let checksum = |k: &str| {
        if whole {
            info.get(k).and_then(|v| v.as_str()).map(str::to_owned)
        } else {
            None
        }
    };
    Ok(Some(GetObjectOutput {
        body: Some(StreamingBlob::from(Body::from(Bytes::from(buf)))),
        content_length: Some(size),
        content_range,
        last_modified: Some(Timestamp::from(modified)),
        e_tag: Some(ETag::Strong(etag)),
        metadata,
        content_type,
        content_encoding: text("content_encoding"),
        content_disposition: text("content_disposition"),
        content_language: text("content_language"),
        cache_control: text("cache_control"),
        accept_ranges: Some("bytes".into()),
        checksum_crc32: checksum("checksum_crc32"),
        checksum_crc32c: checksum("checksum_crc32c"),
        checksum_sha1: checksum("checksum_sha1"),
        checksum_sha256: checksum("checksum_sha256"),
        checksum_crc64nvme: checksum("checksum_crc64nvme"),
        ..Default::default()
    }))
}

/// Maps a join error of the blocking task.
pub(crate) fn joined(e: tokio::task::JoinError) -> S3Error {
    s3_error!(InternalError, "reading the object failed: {e}")
}
