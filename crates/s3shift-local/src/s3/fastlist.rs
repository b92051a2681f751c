//! ListObjects and ListObjectsV2, in one blocking call per page.
//!
//! s3s-fs 0.14 answers every page by walking the whole bucket with two `tokio::fs` round trips per object, knows
//! nothing of the key layout (`layout`), and lists without ETags: a 100,000-object bucket took minutes. This
//! walks only the folder the prefix names, takes names without `stat` (the directory entry's type is enough),
//! turns paths back into keys, sorts, rolls keys up into common prefixes at the delimiter, keeps the page after
//! the continuation point, and only then reads size, time and the stored ETag of the (at most `max_keys`)
//! objects it returns. An object without a stored ETag (a file put there by hand) gets the MD5 of its bytes, as
//! s3s-fs gives it.

use std::path::Path;

use md5::{Digest, Md5};
use s3s::dto::{ETag, Object, Timestamp};
use s3s::{S3Result, s3_error};

use super::layout;

/// What one page lists.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The objects, in key order.
    pub(crate) objects: Vec<Object>,
    /// The common prefixes, in order.
    pub(crate) prefixes: Vec<String>,
    /// Whether more follows.
    pub(crate) truncated: bool,
    /// The last key or prefix of the page, where the next page starts after (set when truncated).
    pub(crate) next: Option<String>,
}

/// One page's request.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) bucket: &'a str,
    pub(crate) prefix: &'a str,
    /// None or non-empty.
    pub(crate) delimiter: Option<&'a str>,
    /// List only keys (and prefixes) after this one.
    pub(crate) after: Option<&'a str>,
    pub(crate) max_keys: usize,
}

/// The entries of the folder `dir`; `None` when it does not exist (a prefix naming no folder lists nothing).
fn read_folder(dir: &Path) -> std::io::Result<Option<std::fs::ReadDir>> {
    match std::fs::read_dir(dir) {
        Ok(e) => Ok(Some(e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every key under the folder `dir` (whose keys start with `folder`) that starts with `prefix` and sorts after
/// `after`, with its path relative to the bucket.
fn collect(
    dir: &Path,
    folder: &str,
    rel: &str,
    prefix: &str,
    after: Option<&str>,
    out: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    let Some(entries) = read_folder(dir)? else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path_key = format!("{rel}{name}");
        if entry.file_type()?.is_dir() {
            let Some(seg) = layout::unescape_segment(name) else {
                continue;
            };
            // A folder can only hold matching keys if it and the prefix agree on their common part.
            let sub = format!("{folder}{seg}/");
            if sub.starts_with(prefix) || prefix.starts_with(&sub) {
                collect(&entry.path(), &sub, &format!("{path_key}/"), prefix, after, out)?;
            }
            continue;
        }
        let key = if name == layout::SELF {
            match folder.strip_suffix('/') {
                Some(k) => k.to_owned(),
                None => continue,
            }
        } else {
            match layout::unescape_segment(name) {
                Some(seg) => format!("{folder}{seg}"),
                None => continue,
            }
        };
        if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
            out.push((key, path_key));
        }
    }
    Ok(())
}

/// What a folder holds, as [`collect_ordered`] walks it: each entry with the string its keys sort by (a file's key
/// segment; a folder's segment and `/`, since all its keys start with that; a folder's own object, `%self`, by
/// the folder's segment alone, a key that sorts before its children and after any sibling it is a prefix of).
enum Entry {
    File { seg: String, name: String },
    Folder { seg: String, name: String },
    SelfOf { seg: String, name: String },
}

impl Entry {
    fn order(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::File { seg, .. } | Self::SelfOf { seg, .. } => seg.into(),
            Self::Folder { seg, .. } => format!("{seg}/").into(),
        }
    }
}

/// [`collect`] in key order, stopping once `out` holds `limit` keys, and skipping whole folders whose keys all
/// sort before `after`: a page costs what it returns plus the folders on its way, not the whole listing.
/// Without a delimiter only (a common prefix would count once for many keys).
fn collect_ordered(
    dir: &Path,
    folder: &str,
    rel: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    out: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    let Some(entries) = read_folder(dir)? else {
        return Ok(());
    };
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name == layout::SELF {
            // Listed by the parent, in its place among the parent's entries.
            continue;
        }
        let Some(seg) = layout::unescape_segment(name).map(|s| s.into_owned()) else {
            continue;
        };
        if entry.file_type()?.is_dir() {
            if entry.path().join(layout::SELF).is_file() {
                listed.push(Entry::SelfOf {
                    seg: seg.clone(),
                    name: name.to_owned(),
                });
            }
            listed.push(Entry::Folder {
                seg,
                name: name.to_owned(),
            });
        } else {
            listed.push(Entry::File {
                seg,
                name: name.to_owned(),
            });
        }
    }
    listed.sort_by(|a, b| a.order().cmp(&b.order()));
    for item in listed {
        if out.len() >= limit {
            return Ok(());
        }
        match item {
            Entry::File { seg, name } => {
                let key = format!("{folder}{seg}");
                if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
                    out.push((key, format!("{rel}{name}")));
                }
            }
            Entry::SelfOf { seg, name } => {
                let key = format!("{folder}{seg}");
                if key.starts_with(prefix) && after.is_none_or(|a| key.as_str() > a) {
                    out.push((key, format!("{rel}{name}/{}", layout::SELF)));
                }
            }
            Entry::Folder { seg, name } => {
                let sub = format!("{folder}{seg}/");
                let matches = sub.starts_with(prefix) || prefix.starts_with(&sub);
                // Every key under `sub` sorts before `after` when `sub` does and is not a prefix of it.
                let passed = after.is_some_and(|a| sub.as_str() < a && !a.starts_with(&sub));
                if matches && !passed {
                    collect_ordered(
                        &dir.join(&name),
                        &sub,
                        &format!("{rel}{name}/"),
                        prefix,
                        after,
                        limit,
                        out,
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// One page of the bucket's listing under `root` (the buckets folder).
pub(crate) fn list(root: &Path, req: &Request<'_>) -> S3Result<Page> {
    let bucket_root = root.join(req.bucket);
    if !bucket_root.is_dir() {
        return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist."));
    }
    let prefix = req.prefix;
    // Start at the deepest folder the prefix names.
    let (start, folder, rel) = match prefix.rfind('/') {
        Some(i) => {
            let path = layout::escape(&prefix[..i]);
            (
                bucket_root.join(path.as_ref()),
                prefix[..=i].to_owned(),
                format!("{path}/"),
            )
        }
        None => (bucket_root.clone(), String::new(), String::new()),
    };
    let mut keys = Vec::new();
    let walked = match req.delimiter {
        // One more than a page, to know whether it is the last.
        None => collect_ordered(
            &start,
            &folder,
            &rel,
            prefix,
            req.after,
            req.max_keys.saturating_add(1),
            &mut keys,
        ),
        Some(_) => collect(&start, &folder, &rel, prefix, req.after, &mut keys),
    };
    walked.map_err(|e| s3_error!(InternalError, "listing {}: {e}", req.bucket))?;
    keys.sort_unstable();

    // Keys and common prefixes in order, up to max_keys of them together.
    let mut page = Page::default();
    let mut chosen: Vec<&(String, String)> = Vec::new();
    let mut count = 0;
    for item in &keys {
        let rolled = req.delimiter.and_then(|d| {
            let rest = &item.0[prefix.len()..];
            rest.find(d).map(|i| &item.0[..prefix.len() + i + d.len()])
        });
        if let Some(cp) = rolled
            && (page.prefixes.last().is_some_and(|last| last == cp) || req.after.is_some_and(|a| cp <= a))
        {
            continue;
        }
        if count == req.max_keys {
            page.truncated = true;
            break;
        }
        count += 1;
        match rolled {
            Some(cp) => {
                page.prefixes.push(cp.to_owned());
                page.next = Some(cp.to_owned());
            }
            None => {
                chosen.push(item);
                page.next = Some(item.0.clone());
            }
        }
    }
    if !page.truncated {
        page.next = None;
    }
    for (key, path_key) in chosen {
        if let Some(object) = describe(root, req.bucket, key, path_key)? {
            page.objects.push(object);
        }
    }
    Ok(page)
}

/// One listed object; `None` when it was deleted since the walk (S3 would not list it either).
fn describe(root: &Path, bucket: &str, key: &str, path_key: &str) -> S3Result<Option<Object>> {
    let path = root.join(bucket).join(path_key);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(s3_error!(InternalError, "listing {key}: {e}")),
    };
    let info: serde_json::Value = std::fs::read(super::side_file(root, bucket, path_key, "internal"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let etag = match info.get("e_tag").and_then(|e| e.as_str()) {
        Some(e) => e.trim_matches('"').to_owned(),
        None => match md5_of(&path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(s3_error!(InternalError, "reading {key}: {e}")),
        },
    };
    let modified = meta.modified().map_err(|e| s3_error!(InternalError, "{e}"))?;
    Ok(Some(Object {
        key: Some(key.to_owned()),
        last_modified: Some(Timestamp::from(modified)),
        size: Some(i64::try_from(meta.len()).unwrap_or(i64::MAX)),
        e_tag: Some(ETag::Strong(etag)),
        storage_class: Some(s3s::dto::ObjectStorageClass::from_static(
            s3s::dto::ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }))
}

fn md5_of(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hash = Md5::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hash.finalize()));
        }
        hash.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(page: &Page) -> Vec<&str> {
        page.objects.iter().filter_map(|o| o.key.as_deref()).collect()
    }

    #[test]
    fn keys_that_are_folders_list_with_their_children_and_roll_up_at_the_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body) in [
            ("b/foo/bar/%self", "1"),
            ("b/foo/bar/x", "2"),
            ("b/asdf/%empty", "3"),
            ("b/a-b", "4"),
            ("b/%%pct", "5"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), body).unwrap();
        }
        let all = Request {
            bucket: "b",
            prefix: "",
            delimiter: None,
            after: None,
            max_keys: 1000,
        };
        let page = list(root, &all).unwrap();
        assert_eq!(keys(&page), ["%pct", "a-b", "asdf/", "foo/bar", "foo/bar/x"]);
        // The ETag of a file put there by hand is its MD5.
        assert_eq!(
            page.objects[0].e_tag.as_ref().map(|e| e.value().to_owned()),
            Some(hex::encode(Md5::digest(b"5")))
        );
        let rolled = list(
            root,
            &Request {
                prefix: "foo/",
                delimiter: Some("/"),
                ..all
            },
        )
        .unwrap();
        // S3 has no folders: at this level `foo/bar` is an object and `foo/bar/` a common prefix.
        assert_eq!(keys(&rolled), ["foo/bar"]);
        assert_eq!(rolled.prefixes, ["foo/bar/"]);
        let level = list(
            root,
            &Request {
                prefix: "foo/bar",
                delimiter: Some("/"),
                ..all
            },
        )
        .unwrap();
        assert_eq!(keys(&level), ["foo/bar"]);
        assert_eq!(level.prefixes, ["foo/bar/"]);
    }

    #[test]
    fn pages_without_a_delimiter_list_every_key_once_in_order_whatever_the_page_size() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Keys that are folders of others, siblings that sort between a folder's own key and its children
        // (`a` < `a-b` < `a/x`), escaped segments, and plenty of folders to skip.
        let mut stored: Vec<String> = [
            "a", "a-b", "a/x", "a/x/y", "a/", "a0", "%pct", ".", "b/./c", "b/c", "z/",
        ]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
        for i in 0..300 {
            stored.push(format!("d/{:02}/{i:04}.jpg", i % 17));
        }
        for key in &stored {
            let path = root.join("b").join(layout::place(root, "b", key).unwrap());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, key).unwrap();
        }
        stored.sort();
        for prefix in ["", "a", "a/", "d/0", "d/05/"] {
            let want: Vec<&String> = stored.iter().filter(|k| k.starts_with(prefix)).collect();
            for max_keys in [1, 2, 7, 1000] {
                let (mut after, mut seen) = (None::<String>, Vec::new());
                loop {
                    let page = list(
                        root,
                        &Request {
                            bucket: "b",
                            prefix,
                            delimiter: None,
                            after: after.as_deref(),
                            max_keys,
                        },
                    )
                    .unwrap();
                    assert!(page.objects.len() <= max_keys);
                    seen.extend(keys(&page).into_iter().map(str::to_owned));
                    if !page.truncated {
                        break;
                    }
                    after = page.next;
                }
                let seen: Vec<&String> = seen.iter().collect();
                assert_eq!(seen, want, "prefix {prefix:?}, {max_keys} a page");
            }
        }
    }

    #[test]
    fn pages_count_keys_and_prefixes_together_and_resume_after_either() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for path in ["b/a/1", "b/a/2", "b/b", "b/c/1", "b/d"] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), "x").unwrap();
        }
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let req = Request {
                bucket: "b",
                prefix: "",
                delimiter: Some("/"),
                after: after.as_deref(),
                max_keys: 2,
            };
            let page = list(root, &req).unwrap();
            seen.extend(page.prefixes.iter().cloned());
            seen.extend(keys(&page).into_iter().map(str::to_owned));
            if !page.truncated {
                break;
            }
            after = page.next;
        }
        seen.sort();
        assert_eq!(seen, ["a/", "b", "c/", "d"]);
    }
}
