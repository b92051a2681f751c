//! The two crates we chose not to build on, used as second opinions: `imagesize` for pixel sizes and
//! `kamadak-exif` for EXIF text and orientation. Prints where each disagrees with us, and fails where they
//! disagree on a file both should read alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::collections::BTreeMap;

use s3shift_extract::extract_bytes;

/// Cases where we and imagesize differ on purpose, by fixture path.
fn imagesize_differs_on_purpose(rel: &str) -> Option<&'static str> {
    if rel.ends_with("top-down.bmp") {
        return Some("imagesize keeps a top-down BMP's negative height sign");
    }
    if rel.starts_with("bmp/os2-") {
        return Some("imagesize reads OS/2 BMP headers as Windows ones");
    }
    if rel.starts_with("heif/") || rel.starts_with("avif/") {
        return Some(
            "imagesize takes the first ispe it meets (here padded), not the primary item's clap-less size",
        );
    }
    if rel.starts_with("tiff/dng") {
        return Some("imagesize reports IFD0 (the preview) of a DNG, not the full-size image");
    }
    None
}

#[test]
fn pixel_sizes_agree_with_imagesize() {
    let mut tally: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for f in support::fixtures() {
        if f.expected != "ok" {
            continue;
        }
        let data = support::read(&f);
        let ours = extract_bytes(&data);
        let Ok(size) = imagesize::blob_size(&data) else {
            continue;
        };
        let t = tally.entry(support::folder(&f).to_owned()).or_default();
        t.0 += 1;
        let theirs = (u32::try_from(size.width).ok(), u32::try_from(size.height).ok());
        // imagesize applies HEIF irot, so for those it reports what we call the displayed size.
        let heif = matches!(support::folder(&f), "heif" | "avif");
        if (ours.width, ours.height) == theirs
            || (heif && (ours.display_width, ours.display_height) == theirs)
        {
            t.1 += 1;
        } else if let Some(why) = imagesize_differs_on_purpose(&f.rel) {
            t.2 += 1;
            println!(
                "{}: ours {:?}x{:?}, imagesize {:?} ({why})",
                f.rel, ours.width, ours.height, theirs
            );
        } else {
            wrong.push(format!(
                "{}: ours {:?}x{:?}, imagesize {:?}",
                f.rel, ours.width, ours.height, theirs
            ));
        }
    }
    println!("format  files  agree  differ-on-purpose");
    for (k, (n, ok, why)) in &tally {
        println!("{k:<7} {n:>5} {ok:>6} {why:>6}");
    }
    assert!(
        wrong.is_empty(),
        "unexplained size disagreements with imagesize:\n{}",
        wrong.join("\n")
    );
}

fn kamadak_text(exif: &exif::Exif, tag: exif::Tag) -> Option<String> {
    let field = exif.get_field(tag, exif::In::PRIMARY)?;
    match &field.value {
        exif::Value::Ascii(parts) => {
            let raw = parts.first()?;
            s3shift_core::text::clean_text(raw, usize::MAX)
        }
        _ => None,
    }
}

#[test]
fn exif_text_and_orientation_agree_with_kamadak_exif() {
    let mut compared = 0;
    let mut wrong = Vec::new();
    for f in support::fixtures() {
        if f.expected != "ok" {
            continue;
        }
        let data = support::read(&f);
        let Ok(exif) = exif::Reader::new()
            .continue_on_error(true)
            .read_from_container(&mut std::io::Cursor::new(&data))
        else {
            continue;
        };
        let ours = extract_bytes(&data);
        let pairs = [
            (
                "Make",
                ours.camera_make.clone(),
                kamadak_text(&exif, exif::Tag::Make),
            ),
            (
                "Model",
                ours.camera_model.clone(),
                kamadak_text(&exif, exif::Tag::Model),
            ),
            (
                "LensModel",
                ours.lens_model.clone(),
                kamadak_text(&exif, exif::Tag::LensModel),
            ),
        ];
        for (tag, a, b) in pairs {
            compared += 1;
            // Our text is cut to its column; theirs is whole.
            let agree = match (&a, &b) {
                (Some(x), Some(y)) => y.starts_with(x.as_str()),
                (None, None) => true,
                _ => false,
            };
            if !agree {
                wrong.push(format!("{} {tag}: ours {a:?}, kamadak-exif {b:?}", f.rel));
            }
        }
        let theirs = exif
            .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
            .and_then(|f| f.value.get_uint(0));
        let theirs = theirs.filter(|o| (1..=8).contains(o)).map(|o| o as u16);
        compared += 1;
        if ours.orientation != theirs {
            wrong.push(format!(
                "{} Orientation: ours {:?}, kamadak-exif {theirs:?}",
                f.rel, ours.orientation
            ));
        }
    }
    println!("{compared} EXIF fields compared with kamadak-exif");
    assert!(compared > 100);
    assert!(
        wrong.is_empty(),
        "disagreements with kamadak-exif:\n{}",
        wrong.join("\n")
    );
}
