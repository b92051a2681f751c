//! The fixture corpus: every file gets the status its manifest row expects, and the growth protocol from the
//! default 128 KiB prefix gives the same record as reading the whole file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use s3shift_extract::{ExtractConfig, ExtractStatus, extract_bytes, extract_with};

#[test]
fn every_fixture_gets_its_expected_status() {
    let mut wrong = Vec::new();
    for f in support::fixtures() {
        let rec = extract_bytes(&support::read(&f));
        rec.check_guarantees()
            .unwrap_or_else(|e| panic!("{}: {e}", f.rel));
        if rec.status.as_str() != f.expected {
            wrong.push(format!(
                "{}: expected {}, got {} ({:?})",
                f.rel, f.expected, rec.status, rec.reason
            ));
        }
        if rec.status != ExtractStatus::Ok && rec.status != ExtractStatus::Unsupported {
            assert!(
                rec.reason.is_some(),
                "{}: status {} without a reason",
                f.rel,
                rec.status
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} fixtures got the wrong status:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn growth_protocol_matches_whole_file() {
    let config = ExtractConfig::default();
    let mut total_reads = 0u64;
    let mut files = 0u64;
    for f in support::fixtures() {
        let data = support::read(&f);
        let whole = extract_bytes(&data);
        let mut asked = Vec::new();
        let grown = extract_with(data.len() as u64, &config, |r| {
            asked.push(r);
            Ok::<_, ()>(data[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap();
        assert_eq!(grown.reads as usize, asked.len());
        // Every read is new bytes: no range overlaps an earlier one.
        for (i, a) in asked.iter().enumerate() {
            for b in &asked[..i] {
                assert!(
                    a.end <= b.start || a.start >= b.end,
                    "{}: {a} overlaps {b}",
                    f.rel
                );
            }
        }
        let mut g = grown.record.clone();
        let mut w = whole.clone();
        assert!(g.bytes_read <= data.len() as u64);
        if data.len() as u64 <= config.first_read_bytes {
            assert_eq!(
                g.bytes_read,
                data.len() as u64,
                "{}: a small file is read in one go",
                f.rel
            );
            assert_eq!(grown.reads, u32::from(!data.is_empty()), "{}", f.rel);
        }
        g.bytes_read = 0;
        w.bytes_read = 0;
        assert_eq!(
            g, w,
            "{}: growth protocol and whole file disagree (reads {asked:?})",
            f.rel
        );
        total_reads += u64::from(grown.reads);
        files += 1;
    }
    println!(
        "corpus: {files} files, {total_reads} reads, {:.3} reads/file",
        total_reads as f64 / files as f64
    );
}

#[test]
fn large_headers_are_reached_by_growing_not_by_reading_everything() {
    let config = ExtractConfig::default();
    let mut grown_files = 0;
    for f in support::fixtures() {
        let data = support::read(&f);
        if (data.len() as u64) <= config.first_read_bytes || f.expected != "ok" {
            continue;
        }
        let e = extract_with(data.len() as u64, &config, |r| {
            Ok::<_, ()>(data[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap();
        assert_eq!(
            e.record.status,
            ExtractStatus::Ok,
            "{}: {:?}",
            f.rel,
            e.record.reason
        );
        assert!(e.record.width.is_some(), "{}", f.rel);
        assert!(
            e.record.bytes_read < data.len() as u64,
            "{}: read all {} bytes to find its header",
            f.rel,
            data.len()
        );
        if e.reads > 1 {
            grown_files += 1;
        }
    }
    assert!(
        grown_files >= 3,
        "the corpus needs files whose metadata lies past the first read"
    );
}

#[test]
fn a_low_cap_finishes_as_truncated_with_what_is_known() {
    // A 1 KiB cap is too small for files whose metadata lies further in: they end truncated, never hang.
    let config = ExtractConfig {
        first_read_bytes: 512,
        grow_bytes: 256,
        max_bytes: 1024,
    };
    let mut truncated = 0;
    for f in support::fixtures() {
        let data = support::read(&f);
        let e = extract_with(data.len() as u64, &config, |r| {
            Ok::<_, ()>(data[r.start as usize..r.end as usize].to_vec())
        })
        .unwrap();
        assert!(e.record.bytes_read <= 1024, "{}", f.rel);
        if e.record.status == ExtractStatus::Truncated && f.expected == "ok" {
            truncated += 1;
            assert!(
                e.record.reason.as_deref().unwrap_or_default().contains("cap"),
                "{}",
                f.rel
            );
        }
    }
    assert!(truncated > 0);
}

/// What exiftool does not judge: displayed sizes, animation, formats and colour models, file by file.
#[test]
fn display_size_animation_and_format_of_chosen_files() {
    let dir = support::fixtures_dir();
    // (file, format, stored w x h, displayed w x h, animated, colour); a (0, 0) size is not checked.
    type Case = (
        &'static str,
        &'static str,
        (u32, u32),
        (u32, u32),
        bool,
        Option<&'static str>,
    );
    let cases: &[Case] = &[
        (
            "jpeg/orientation-1.jpg",
            "jpeg",
            (64, 32),
            (64, 32),
            false,
            Some("ycbcr"),
        ),
        (
            "jpeg/orientation-5.jpg",
            "jpeg",
            (64, 32),
            (32, 64),
            false,
            Some("ycbcr"),
        ),
        (
            "jpeg/orientation-6.jpg",
            "jpeg",
            (64, 32),
            (32, 64),
            false,
            Some("ycbcr"),
        ),
        (
            "jpeg/orientation-8.jpg",
            "jpeg",
            (64, 32),
            (32, 64),
            false,
            Some("ycbcr"),
        ),
        ("jpeg/grayscale.jpg", "jpeg", (0, 0), (0, 0), false, Some("gray")),
        // ImageMagick writes CMYK JPEGs with Adobe transform 2: YCCK-coded.
        ("jpeg/cmyk.jpg", "jpeg", (0, 0), (0, 0), false, Some("ycck")),
        (
            "heif/irot-90-exif-orientation-6.heic",
            "heif",
            (96, 64),
            (64, 96),
            false,
            Some("ycbcr"),
        ),
        (
            "heif/clap-80x48-padded.heic",
            "heif",
            (80, 64),
            (80, 48),
            false,
            Some("ycbcr"),
        ),
        (
            "heif/clap-irot-64x48.heic",
            "heif",
            (64, 64),
            (48, 64),
            false,
            Some("ycbcr"),
        ),
        (
            "heif/grid-4x3-irot-exif.heic",
            "heif",
            (256, 192),
            (192, 256),
            false,
            None,
        ),
        (
            "avif/irot-90-avifenc.avif",
            "avif",
            (96, 64),
            (64, 96),
            false,
            Some("ycbcr"),
        ),
        (
            "avif/animated.avif",
            "avif",
            (64, 48),
            (64, 48),
            true,
            Some("ycbcr"),
        ),
        (
            "bmp/v3-24bit-top-down.bmp",
            "bmp",
            (0, 0),
            (0, 0),
            false,
            Some("rgb"),
        ),
        ("bmp/os2-v1-24bit.bmp", "bmp", (0, 0), (0, 0), false, Some("rgb")),
        (
            "bmp/os2-v2-24bit.bmp",
            "bmp",
            (64, 48),
            (64, 48),
            false,
            Some("rgb"),
        ),
        (
            "bmp/v5-32bit-alpha.bmp",
            "bmp",
            (0, 0),
            (0, 0),
            false,
            Some("rgba"),
        ),
        (
            "gif/animated-loop-forever.gif",
            "gif",
            (64, 48),
            (64, 48),
            true,
            Some("palette"),
        ),
        (
            "gif/animated-no-loop-extension.gif",
            "gif",
            (0, 0),
            (0, 0),
            true,
            Some("palette"),
        ),
        ("gif/gif87a.gif", "gif", (0, 0), (0, 0), false, Some("palette")),
        (
            "png/apng-3-frames.png",
            "png",
            (64, 48),
            (64, 48),
            true,
            Some("rgb"),
        ),
        ("png/rgba8.png", "png", (0, 0), (0, 0), false, Some("rgba")),
        ("webp/animated.webp", "webp", (64, 48), (64, 48), true, None),
        (
            "webp/lossless-alpha-vp8l.webp",
            "webp",
            (0, 0),
            (0, 0),
            false,
            Some("rgba"),
        ),
        (
            "tiff/dng-like.dng",
            "dng",
            (256, 192),
            (256, 192),
            false,
            Some("cfa"),
        ),
        ("tiff/multipage-3.tif", "tiff", (0, 0), (0, 0), false, None),
    ];
    for (rel, format, stored, displayed, animated, color) in cases {
        let data = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let r = extract_bytes(&data);
        assert_eq!(r.status, ExtractStatus::Ok, "{rel}: {:?}", r.reason);
        assert_eq!(r.format.map(|f| f.as_str()), Some(*format), "{rel}");
        if stored.0 > 0 {
            assert_eq!(
                (r.width, r.height),
                (Some(stored.0), Some(stored.1)),
                "{rel} stored size"
            );
            assert_eq!(
                (r.display_width, r.display_height),
                (Some(displayed.0), Some(displayed.1)),
                "{rel} shown"
            );
        }
        assert!(r.width.is_some() && r.display_width.is_some(), "{rel}");
        assert_eq!(r.animated, Some(*animated), "{rel} animated");
        if let Some(c) = color {
            assert_eq!(r.color_type.as_deref(), Some(*c), "{rel} colour");
        }
    }
}

/// Every EXIF orientation 1..=8 is read, and only 5..=8 swap the displayed size.
#[test]
fn all_eight_orientations() {
    let dir = support::fixtures_dir().join("jpeg");
    for o in 1..=8u16 {
        let r = extract_bytes(&std::fs::read(dir.join(format!("orientation-{o}.jpg"))).unwrap());
        assert_eq!(r.orientation, Some(o));
        let swapped = r.display_width == r.height && r.display_height == r.width;
        assert_eq!(swapped, o >= 5, "orientation {o}");
    }
}
