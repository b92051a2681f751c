//! Where each object lives on disk, so that keys which are also folders of other keys work as in S3.
//!
//! s3s-fs keeps the object of key `a/b` in the file `<bucket>/a/b`. S3 has no folders: `a/b` and `a/b/c` are two
//! keys that both exist, a key may end in `/` (the console's "folders" are such objects), and segments may be
//! empty, `.` or `..`. So every key passes through [`escape`] before s3s-fs sees it: each segment is written as
//! it is, except an empty segment (`%empty`), `.` (`%dot`), `..` (`%dotdot`) and a segment that starts with `%`
//! (one more `%` in front). An object whose path is also a folder lives inside that folder as `%self`. Keys with
//! none of these (all the pipeline writes) keep the path s3s-fs always gave them, so existing data directories
//! read as before, and the fast paths pay nothing for the rule.

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file name of an object whose path is also a folder, inside that folder.
pub(crate) const SELF: &str = "%self";

/// The path key of `key` (what s3s-fs is given, relative to the bucket), before the folder rule.
pub(crate) fn escape(key: &str) -> Cow<'_, str> {
    if !key.split('/').any(needs_escape) {
        return Cow::Borrowed(key);
    }
    let segments: Vec<Cow<'_, str>> = key.split('/').map(escape_segment).collect();
    Cow::Owned(segments.join("/"))
}

fn needs_escape(seg: &str) -> bool {
    seg.is_empty() || seg == "." || seg == ".." || seg.starts_with('%')
}

fn escape_segment(seg: &str) -> Cow<'_, str> {
    match seg {
        "" => Cow::Borrowed("%empty"),
        "." => Cow::Borrowed("%dot"),
        ".." => Cow::Borrowed("%dotdot"),
        s if s.starts_with('%') => Cow::Owned(format!("%{s}")),
        s => Cow::Borrowed(s),
    }
}

/// The key segment a file or folder name stands for; `None` for a name [`escape`] never writes (`%self` is
/// handled by the caller).
pub(crate) fn unescape_segment(name: &str) -> Option<Cow<'_, str>> {
    match name {
        "%empty" => Some(Cow::Borrowed("")),
        "%dot" => Some(Cow::Borrowed(".")),
        "%dotdot" => Some(Cow::Borrowed("..")),
        n if n.starts_with("%%") => Some(Cow::Borrowed(&n[1..])),
        n if n.starts_with('%') => None,
        n => Some(Cow::Borrowed(n)),
    }
}

/// Where the object of `key` is, given the bucket's folder: its escaped path, or `%self` inside it when that
/// path is a folder.
pub(crate) fn locate(bucket_root: &Path, key: &str) -> String {
    let path_key = escape(key);
    if bucket_root.join(path_key.as_ref()).is_dir() {
        format!("{path_key}/{SELF}")
    } else {
        path_key.into_owned()
    }
}

/// Makes room to write the object of `key` and says where: every ancestor of its path that is an object's file
/// becomes a folder holding that object as `%self` (its s3s-fs side files renamed with it, under `root`, the
/// buckets folder); then as [`locate`].
pub(crate) fn place(root: &Path, bucket: &str, key: &str) -> std::io::Result<String> {
    let bucket_root = root.join(bucket);
    let path_key = escape(key);
    let mut end = 0;
    while let Some(i) = path_key[end..].find('/') {
        let ancestor = &path_key[..end + i];
        end += i + 1;
        let path = bucket_root.join(ancestor);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => make_folder_of(root, bucket, ancestor)?,
            _ => {}
        }
    }
    Ok(locate(&bucket_root, key))
}

/// Turns the object file at `path_key` into the folder `path_key` holding it as `%self`.
fn make_folder_of(root: &Path, bucket: &str, path_key: &str) -> std::io::Result<()> {
    let bucket_root = root.join(bucket);
    let file = bucket_root.join(path_key);
    // Set aside where s3s-fs keeps its own temporary files (the buckets folder, never listed as keys).
    static MOVES: AtomicU64 = AtomicU64::new(0);
    let n = MOVES.fetch_add(1, Ordering::Relaxed);
    let aside = root.join(format!(".tmp.layout.{}.{n}.part", std::process::id()));
    std::fs::rename(&file, &aside)?;
    std::fs::create_dir(&file)?;
    std::fs::rename(&aside, file.join(SELF))?;
    let moved = format!("{path_key}/{SELF}");
    for kind in ["internal", "metadata"] {
        let from = super::side_file(root, bucket, path_key, kind);
        if from.exists() {
            std::fs::rename(from, super::side_file(root, bucket, &moved, kind))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of a path key (the inverse of `locate`, as the listing walks it); `None` for a path no key maps
    /// to.
    fn key_of(path_key: &str) -> Option<String> {
        let mut segments: Vec<&str> = path_key.split('/').collect();
        if segments.len() > 1 && segments.last() == Some(&SELF) {
            segments.pop();
        }
        let mut out = String::with_capacity(path_key.len());
        for (n, seg) in segments.iter().enumerate() {
            if n > 0 {
                out.push('/');
            }
            out.push_str(&unescape_segment(seg)?);
        }
        Some(out)
    }

    #[test]
    fn plain_keys_keep_their_path_and_odd_ones_round_trip() {
        assert!(matches!(escape("api/2026/12/01/img 1.jpg"), Cow::Borrowed(_)));
        for key in [
            "asdf/",
            "a//b",
            "./x",
            "../../etc/passwd",
            "%self",
            "100%/x",
            "%%",
            "a/%empty",
        ] {
            let path = escape(key);
            assert!(
                !path.split('/').any(|s| s.is_empty() || s == "." || s == ".."),
                "{key} -> {path}"
            );
            assert_eq!(key_of(&path).as_deref(), Some(key), "{key} -> {path}");
        }
        assert_eq!(escape("asdf/"), "asdf/%empty");
        assert_eq!(key_of("foo/bar/%self").as_deref(), Some("foo/bar"));
        assert_eq!(key_of("foo/%unknown"), None);
    }

    #[test]
    fn a_key_that_becomes_a_folder_keeps_its_object_and_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/foo")).unwrap();
        std::fs::write(root.join("b/foo/bar"), b"old").unwrap();
        std::fs::write(super::super::side_file(root, "b", "foo/bar", "internal"), b"{}").unwrap();
        assert_eq!(place(root, "b", "foo/bar/xyzzy").unwrap(), "foo/bar/xyzzy");
        assert_eq!(std::fs::read(root.join("b/foo/bar/%self")).unwrap(), b"old");
        assert!(super::super::side_file(root, "b", "foo/bar/%self", "internal").exists());
        assert_eq!(locate(&root.join("b"), "foo/bar"), "foo/bar/%self");
        assert_eq!(place(root, "b", "foo/bar").unwrap(), "foo/bar/%self");
    }
}
