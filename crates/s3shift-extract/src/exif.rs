//! EXIF fields from a TIFF structure: IFD0 (Make, Model, Software, Orientation, and the ImageDescription, Artist
//! and Copyright that come first for caption, creator and rights), the EXIF IFD (exposure, lens,
//! capture time) and the GPS IFD.
//!
//! Written by hand rather than with `kamadak-exif` because it must read TIFF files whose IFDs lie anywhere in
//! the object through the sparse [`Source`] (kamadak-exif needs the whole TIFF in one buffer), and because of
//! quirks fixed here: GPS coordinates stored as signed rationals, `0000:00:00 00:00:00` dates, and text with
//! trailing NULs or invalid UTF-8.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use s3shift_core::schema;

use crate::builder::Builder;
use crate::ifd::{Ifd, Tiff};
use crate::source::{Fail, PResult, Slice, Source};

pub(crate) const MAKE: u16 = 0x010F;
pub(crate) const MODEL: u16 = 0x0110;
pub(crate) const ORIENTATION: u16 = 0x0112;
pub(crate) const SOFTWARE: u16 = 0x0131;
const IMAGE_DESCRIPTION: u16 = 0x010E;
const ARTIST: u16 = 0x013B;
const COPYRIGHT: u16 = 0x8298;
pub(crate) const EXIF_IFD: u16 = 0x8769;
pub(crate) const GPS_IFD: u16 = 0x8825;

const EXPOSURE_TIME: u16 = 0x829A;
const F_NUMBER: u16 = 0x829D;
const ISO: u16 = 0x8827;
const DATE_TIME_ORIGINAL: u16 = 0x9003;
const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
const FOCAL_LENGTH: u16 = 0x920A;
const SUB_SEC_TIME_ORIGINAL: u16 = 0x9291;
const LENS_MODEL: u16 = 0xA434;

const GPS_LATITUDE_REF: u16 = 1;
const GPS_LATITUDE: u16 = 2;
const GPS_LONGITUDE_REF: u16 = 3;
const GPS_LONGITUDE: u16 = 4;
const GPS_ALTITUDE_REF: u16 = 5;
const GPS_ALTITUDE: u16 = 6;

/// Whether IFD0 of an EXIF block carries a tag this module reads.
pub(crate) fn ifd0_tag(tag: u16) -> bool {
    matches!(
        tag,
        MAKE | MODEL | ORIENTATION | SOFTWARE | IMAGE_DESCRIPTION | ARTIST | COPYRIGHT | EXIF_IFD | GPS_IFD
    )
}

/// Reads EXIF from a self-contained block that starts with a TIFF header (as in JPEG APP1 after `Exif\0\0`, a
/// PNG `eXIf` chunk, a WebP `EXIF` chunk or a HEIF `Exif` item). Problems become warnings: the image itself is
/// fine when its EXIF is not.
pub(crate) fn read_block(block: &[u8], b: &mut Builder) {
    let src = Slice {
        data: block,
        name: "EXIF",
    };
    let result = Tiff::open(&src, 0).and_then(|(tiff, ifd0_at)| {
        let ifd0 = tiff.ifd(ifd0_at, "EXIF IFD0", ifd0_tag)?;
        read_fields(&tiff, &ifd0, b)
    });
    if let Err(fail) = result {
        b.warn(format!("EXIF ignored: {}", describe(&fail)));
    }
}

pub(crate) fn describe(fail: &Fail) -> String {
    match fail {
        Fail::Corrupt(msg) => msg.clone(),
        Fail::Need { offset, len, what } => format!("{what} at offset {offset} (+{len}) is missing"),
    }
}

/// Reads the EXIF fields reachable from `ifd0`. Needs (bytes not yet read) propagate so the caller can fetch
/// them; corruption inside the EXIF or GPS IFD becomes a warning.
pub(crate) fn read_fields<S: Source>(tiff: &Tiff<'_, S>, ifd0: &Ifd, b: &mut Builder) -> PResult<()> {
    let r = read_ifd0(tiff, ifd0, b);
    soft(b, r)?;
    if let Some(e) = ifd0.get(EXIF_IFD) {
        let r = tiff
            .uint(e, 0, "ExifIFD pointer")
            .and_then(|at| read_exif_ifd(tiff, at, b));
        soft(b, r)?;
    }
    if let Some(e) = ifd0.get(GPS_IFD) {
        let r = tiff
            .uint(e, 0, "GPS IFD pointer")
            .and_then(|at| read_gps_ifd(tiff, at, b));
        soft(b, r)?;
    }
    Ok(())
}

/// Passes needs through; turns corruption into a warning.
fn soft(b: &mut Builder, r: PResult<()>) -> PResult<()> {
    match r {
        Err(Fail::Corrupt(msg)) => {
            b.warn(format!("EXIF: {msg}"));
            Ok(())
        }
        other => other,
    }
}

fn read_ifd0<S: Source>(tiff: &Tiff<'_, S>, ifd0: &Ifd, b: &mut Builder) -> PResult<()> {
    // Caption, creator and rights as EXIF has them come before XMP and IPTC (see `embedded`). A blank value is
    // none. Artist holds several creators as one string, "; " between them, as the MWG advises.
    let texts = [
        (MAKE, &schema::CAMERA_MAKE, "EXIF Make", &mut b.rec.camera_make),
        (
            MODEL,
            &schema::CAMERA_MODEL,
            "EXIF Model",
            &mut b.rec.camera_model,
        ),
        (SOFTWARE, &schema::SOFTWARE, "EXIF Software", &mut b.rec.software),
        (
            IMAGE_DESCRIPTION,
            &schema::CAPTION,
            "EXIF ImageDescription",
            &mut b.rec.caption,
        ),
        (ARTIST, &schema::CREATOR, "EXIF Artist", &mut b.rec.creator),
        (COPYRIGHT, &schema::RIGHTS, "EXIF Copyright", &mut b.rec.rights),
    ];
    for (tag, column, what, slot) in texts {
        if let Some(e) = ifd0.get(tag) {
            *slot = Builder::text(column, &tiff.text_bytes(e, what)?);
        }
    }
    if let Some(e) = ifd0.get(ORIENTATION) {
        match tiff.uint(e, 0, "EXIF Orientation")? {
            v @ 1..=8 => b.rec.orientation = Some(v as u16),
            v => b.warn(format!("EXIF Orientation {v} is outside 1..8, ignored")),
        }
    }
    Ok(())
}

fn exif_tag(tag: u16) -> bool {
    matches!(
        tag,
        EXPOSURE_TIME
            | F_NUMBER
            | ISO
            | DATE_TIME_ORIGINAL
            | OFFSET_TIME_ORIGINAL
            | FOCAL_LENGTH
            | SUB_SEC_TIME_ORIGINAL
            | LENS_MODEL
    )
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x > 0.0)
}

fn read_exif_ifd<S: Source>(tiff: &Tiff<'_, S>, at: u64, b: &mut Builder) -> PResult<()> {
    let ifd = tiff.ifd(at, "EXIF IFD", exif_tag)?;
    if let Some(e) = ifd.get(EXPOSURE_TIME) {
        b.rec.exposure_time_s = positive(tiff.real(e, 0, "ExposureTime")?);
    }
    if let Some(e) = ifd.get(F_NUMBER) {
        b.rec.f_number = positive(tiff.real(e, 0, "FNumber")?);
    }
    if let Some(e) = ifd.get(FOCAL_LENGTH) {
        b.rec.focal_length_mm = positive(tiff.real(e, 0, "FocalLength")?);
    }
    if let Some(e) = ifd.get(ISO) {
        b.rec.iso = u32::try_from(tiff.uint(e, 0, "ISO")?).ok();
    }
    if let Some(e) = ifd.get(LENS_MODEL) {
        b.rec.lens_model = Builder::text(&schema::LENS_MODEL, &tiff.text_bytes(e, "LensModel")?);
    }
    let Some(e) = ifd.get(DATE_TIME_ORIGINAL) else {
        return Ok(());
    };
    let raw = tiff.text_bytes(e, "DateTimeOriginal")?;
    let Some(mut local) = parse_datetime(&raw) else {
        let shown = String::from_utf8_lossy(raw.split(|&c| c == 0).next().unwrap_or_default()).into_owned();
        b.warn(format!(
            "DateTimeOriginal '{}' is not a date",
            s3shift_core::text::truncate_utf8(&shown, 40)
        ));
        return Ok(());
    };
    if let Some(e) = ifd.get(SUB_SEC_TIME_ORIGINAL) {
        let raw = tiff.text_bytes(e, "SubSecTimeOriginal")?;
        if let Some(nanos) = parse_subsec(&raw) {
            local += chrono::Duration::nanoseconds(i64::from(nanos));
        }
    }
    b.rec.taken_at_local = Some(local);
    if let Some(e) = ifd.get(OFFSET_TIME_ORIGINAL) {
        let raw = tiff.text_bytes(e, "OffsetTimeOriginal")?;
        match parse_offset(&raw) {
            Some((text, offset)) => {
                b.rec.taken_at_utc = offset.from_local_datetime(&local).single().map(|t| t.to_utc());
                b.rec.taken_at_offset = Some(text);
            }
            None => b.warn("OffsetTimeOriginal is not a +HH:MM offset, ignored"),
        }
    }
    Ok(())
}

fn gps_tag(tag: u16) -> bool {
    matches!(
        tag,
        GPS_LATITUDE_REF | GPS_LATITUDE | GPS_LONGITUDE_REF | GPS_LONGITUDE | GPS_ALTITUDE_REF | GPS_ALTITUDE
    )
}

fn read_gps_ifd<S: Source>(tiff: &Tiff<'_, S>, at: u64, b: &mut Builder) -> PResult<()> {
    let ifd = tiff.ifd(at, "GPS IFD", gps_tag)?;
    let text_ref = |tag: u16, what: &'static str| -> PResult<Option<u8>> {
        match ifd.get(tag) {
            Some(e) => Ok(tiff.text_bytes(e, what)?.first().copied()),
            None => Ok(None),
        }
    };
    let lat_ref = text_ref(GPS_LATITUDE_REF, "GPSLatitudeRef")?;
    let lon_ref = text_ref(GPS_LONGITUDE_REF, "GPSLongitudeRef")?;
    let lat = match ifd.get(GPS_LATITUDE) {
        Some(e) => degrees(tiff, e, "GPSLatitude")?,
        None => None,
    };
    let lon = match ifd.get(GPS_LONGITUDE) {
        Some(e) => degrees(tiff, e, "GPSLongitude")?,
        None => None,
    };
    let lat = lat.map(|v| {
        if matches!(lat_ref, Some(b'S' | b's')) {
            -v.abs()
        } else {
            v
        }
    });
    let lon = lon.map(|v| {
        if matches!(lon_ref, Some(b'W' | b'w')) {
            -v.abs()
        } else {
            v
        }
    });
    match (lat, lon) {
        (Some(la), Some(lo)) if la.abs() <= 90.0 && lo.abs() <= 180.0 => {
            b.rec.gps_latitude = Some(la);
            b.rec.gps_longitude = Some(lo);
        }
        (Some(la), Some(lo)) => b.warn(format!("GPS position {la},{lo} is out of range, ignored")),
        _ => {}
    }
    if let Some(e) = ifd.get(GPS_ALTITUDE) {
        let below = match ifd.get(GPS_ALTITUDE_REF) {
            Some(r) => tiff.uint(r, 0, "GPSAltitudeRef").unwrap_or(0) == 1,
            None => false,
        };
        b.rec.gps_altitude_m = tiff
            .real(e, 0, "GPSAltitude")?
            .filter(|v| v.is_finite())
            .map(|v| if below { -v.abs() } else { v });
    }
    Ok(())
}

/// Degrees from up to three (S)RATIONALs: degrees, minutes, seconds. A zero denominator drops the value.
fn degrees<S: Source>(tiff: &Tiff<'_, S>, e: &crate::ifd::Entry, what: &'static str) -> PResult<Option<f64>> {
    let n = tiff.count(e).min(3);
    let mut total = 0.0;
    let mut negative = false;
    for (i, scale) in [1.0, 60.0, 3600.0].into_iter().enumerate().take(n as usize) {
        match tiff.real(e, i as u64, what)? {
            Some(v) if v.is_finite() => {
                negative |= v < 0.0;
                total += v.abs() / scale;
            }
            _ => return Ok(None),
        }
    }
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(if negative { -total } else { total }))
}

/// `YYYY:MM:DD HH:MM:SS` (also with `-` in the date or `T` between); `None` for zero or invalid dates.
pub(crate) fn parse_datetime(raw: &[u8]) -> Option<NaiveDateTime> {
    let s = raw.split(|&c| c == 0).next()?;
    let s = std::str::from_utf8(s).ok()?.trim();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if s.len() < 19 {
        return None;
    }
    let seps = s.as_bytes();
    if !matches!(seps.get(4), Some(b':' | b'-'))
        || !matches!(seps.get(7), Some(b':' | b'-'))
        || !matches!(seps.get(10), Some(b' ' | b'T'))
        || seps.get(13) != Some(&b':')
        || seps.get(16) != Some(&b':')
    {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    if date.year_ce().1 == 0 {
        return None;
    }
    let time = NaiveTime::from_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(NaiveDateTime::new(date, time))
}

use chrono::Datelike;

/// Fractional seconds from SubSecTime digits (`"5"` is 0.5 s), nanoseconds, at most 9 digits used.
fn parse_subsec(raw: &[u8]) -> Option<u32> {
    let digits: Vec<u8> = raw
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .take(9)
        .collect();
    if digits.is_empty() {
        return None;
    }
    let mut nanos: u32 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + u32::from(digits.get(i).map_or(0, |d| d - b'0'));
    }
    Some(nanos)
}

/// `+HH:MM` / `-HH:MM` (also `Z`) to the text kept and the offset.
fn parse_offset(raw: &[u8]) -> Option<(String, FixedOffset)> {
    let s = std::str::from_utf8(raw.split(|&c| c == 0).next()?).ok()?.trim();
    if s == "Z" {
        return Some(("+00:00".into(), FixedOffset::east_opt(0)?));
    }
    let b = s.as_bytes();
    if b.len() != 6 || b.get(3) != Some(&b':') {
        return None;
    }
    let sign = match b.first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let h: i32 = s.get(1..3)?.parse().ok()?;
    let m: i32 = s.get(4..6)?.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    Some((s.to_owned(), FixedOffset::east_opt(sign * (h * 3600 + m * 60))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let d = parse_datetime(b"2021:07:04 13:14:15\0");
        assert_eq!(d.map(|d| d.to_string()), Some("2021-07-04 13:14:15".into()));
        assert!(parse_datetime(b"0000:00:00 00:00:00").is_none());
        assert!(parse_datetime(b"    :  :     :  :  ").is_none());
        assert!(parse_datetime(b"2021:13:04 13:14:15").is_none());
        assert!(parse_datetime(b"2021-07-04T13:14:15").is_some());
        assert!(parse_datetime(b"").is_none());
    }

    #[test]
    fn subsec_and_offsets() {
        assert_eq!(parse_subsec(b"5"), Some(500_000_000));
        assert_eq!(parse_subsec(b"123\0"), Some(123_000_000));
        assert_eq!(parse_subsec(b"  "), None);
        assert_eq!(
            parse_offset(b"+05:30\0").map(|o| o.1.local_minus_utc()),
            Some(19800)
        );
        assert_eq!(
            parse_offset(b"-08:00").map(|o| o.1.local_minus_utc()),
            Some(-28800)
        );
        assert!(parse_offset(b"+5:30").is_none());
        assert!(parse_offset(b"   :  ").is_none());
    }
}
