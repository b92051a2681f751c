//! Metadata embedded beside the image data (XMP, IPTC, ICC, C2PA) as the container parsers find it, and how it
//! lands in the record: which source wins for each column, and the dates, GPS and codes made from text.
//!
//! Precedence is the Metadata Working Group's ("Guidelines for Handling Image Metadata" 2.0, as exiftool's MWG
//! composite tags implement it, which the tests use as the judge):
//! - caption, creator and rights: EXIF ImageDescription, Artist and Copyright when not blank;
//! - then XMP, unless the IIM is newer: Photoshop stores the MD5 of the IIM block (resource 0x0425) whenever it
//!   brings XMP in line with it, so a stored digest that differs from the block's MD5 means a tool that knows
//!   only IIM edited it since, and IIM wins (where an IIM value is cut at its dataset's length limit and is the
//!   start of the XMP value, the XMP value is the whole of it). No stored digest, or no IIM: XMP wins. One
//!   deliberate difference: where a stale IIM lacks a field XMP has, the XMP value is kept (the guidelines would
//!   leave the field empty), since a tool that knows only IIM more likely never wrote that field than removed it;
//! - the capture time is EXIF's, else `photoshop:DateCreated` or IPTC DateCreated with TimeCreated, in the order
//!   above; else XMP `exif:DateTimeOriginal` (an addition: the guidelines do not read EXIF's property in XMP, so
//!   it is used only where they find no date);
//! - city and country: the first `Iptc4xmpExt:LocationShown` structure's City/CountryName, else
//!   `photoshop:City`/`photoshop:Country` (`Iptc4xmpCore:CountryName` where Country is missing, an addition), or
//!   IPTC, in the order above.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use s3shift_core::ImageRecord;
use s3shift_core::schema::{self, ColumnSpec};
use s3shift_core::text::clean_text;

use crate::c2pa::C2pa;
use crate::icc::Icc;
use crate::iptc::Iptc;
use crate::xmp::Xmp;

/// Most bytes of JPEG extended-XMP chunks kept (their parts beyond are dropped with a warning).
const MAX_EXTENDED_XMP: usize = 1024 * 1024;

/// Markers of markup or script that have no business inside an image's metadata or header: a browser that
/// sniffs the bytes as HTML, or a page that includes them as a script, runs them.
const MARKUP: &[&str] = &[
    "<script",
    "<html",
    "<iframe",
    "<?php",
    "<body",
    "javascript:",
    "<svg",
];

/// Most bytes of one comment or text chunk scanned for markup: a polyglot's payload has to be where a browser or
/// interpreter meets it, which is early; scanning a megabyte of text per object would cost more than the rest.
const MARKUP_SCAN_BYTES: usize = 64 * 1024;

/// What the container parsers found besides the image header.
#[derive(Debug, Default)]
pub(crate) struct Embedded {
    xmp: Option<Xmp>,
    /// JPEG extended XMP: (GUID, offset in the full packet, bytes).
    extended: Vec<(String, u32, Vec<u8>)>,
    extended_bytes: usize,
    iptc: Option<Iptc>,
    /// The MD5 of the IIM block read, and the digest Photoshop stored for it.
    iim_md5: Option<[u8; 16]>,
    stored_iptc_digest: Option<[u8; 16]>,
    icc: Option<Icc>,
    c2pa: Option<C2pa>,
    markup: Option<&'static str>,
    pub(crate) warnings: Vec<String>,
}

impl Embedded {
    /// An XMP packet; a second one fills what the first lacks.
    pub(crate) fn xmp(&mut self, packet: &[u8]) {
        let (x, warning) = crate::xmp::parse(packet);
        self.warnings.extend(warning);
        match &mut self.xmp {
            Some(first) => first.fill_from(x),
            None => self.xmp = Some(x),
        }
    }

    /// A JPEG extended-XMP chunk: the body after `http://ns.adobe.com/xmp/extension/\0`.
    pub(crate) fn xmp_extension(&mut self, body: &[u8]) {
        let (Some(guid), Some(offset), Some(data)) = (
            body.get(..32).and_then(|g| std::str::from_utf8(g).ok()),
            body.get(36..40)
                .and_then(|o| o.try_into().ok())
                .map(u32::from_be_bytes),
            body.get(40..),
        ) else {
            self.warnings.push("JPEG extended XMP chunk is too short".into());
            return;
        };
        if self.extended_bytes + data.len() > MAX_EXTENDED_XMP {
            self.warnings.push(format!(
                "JPEG extended XMP past {MAX_EXTENDED_XMP} bytes is not read"
            ));
            return;
        }
        self.extended_bytes += data.len();
        self.extended.push((guid.to_owned(), offset, data.to_vec()));
    }

    /// An IPTC IIM block.
    pub(crate) fn iptc(&mut self, block: &[u8]) {
        if self.iptc.is_none() {
            self.iptc = Some(crate::iptc::parse(block));
            self.iim_md5 = Some(crate::iptc::digest(block));
        }
    }

    /// A Photoshop image-resource block: its IIM block and the IPTC digest stored beside it.
    pub(crate) fn photoshop(&mut self, resources: &[u8]) {
        let found = crate::iptc::from_photoshop(resources);
        if let Some(iim) = found.iim {
            self.iptc(iim);
        }
        self.stored_iptc_digest = self.stored_iptc_digest.or(found.digest);
    }

    /// Whether both an XMP packet and an IIM block were found, so the stored IPTC digest decides between them.
    pub(crate) fn needs_iptc_digest(&self) -> bool {
        self.xmp.is_some() && self.iptc.is_some() && self.stored_iptc_digest.is_none()
    }

    /// An ICC profile (or its first part); the first one found counts.
    pub(crate) fn icc(&mut self, profile: &[u8]) {
        if self.icc.is_none() {
            self.icc = Some(crate::icc::parse(profile));
        }
    }

    /// A C2PA manifest store's held bytes (its start at least), when they begin a store.
    pub(crate) fn c2pa(&mut self, store: &[u8]) {
        if self.c2pa.is_none() && crate::c2pa::is_store(store) {
            self.c2pa = Some(crate::c2pa::scan(store));
        }
    }

    /// The body of a BMFF C2PA `uuid` box after its UUID: version and flags (4), a NUL-terminated purpose
    /// (`manifest`), an 8-byte offset, then the store.
    pub(crate) fn c2pa_bmff(&mut self, body: &[u8]) {
        let purpose_end = body
            .get(4..)
            .and_then(|b| b.iter().position(|&c| c == 0))
            .map(|p| p + 4);
        match purpose_end {
            Some(end) if body.get(4..end) == Some(b"manifest") => {
                self.c2pa(body.get(end + 9..).unwrap_or_default());
                self.c2pa_present();
            }
            _ => {}
        }
    }

    /// A C2PA store known to be there whose bytes are not read.
    pub(crate) fn c2pa_present(&mut self) {
        if self.c2pa.is_none() {
            self.c2pa = Some(C2pa::default());
        }
    }

    /// Records a polyglot's mark found by a container parser.
    pub(crate) fn mark(&mut self, marker: &'static str) {
        self.markup.get_or_insert(marker);
    }

    /// Looks for markup or script in bytes that should hold none (comments, text chunks, the first bytes): the
    /// first [`MARKUP_SCAN_BYTES`] of them, found by their first byte (`<`, `j`) with a vectorised search.
    pub(crate) fn scan_markup(&mut self, bytes: &[u8]) {
        if self.markup.is_some() {
            return;
        }
        let bytes = bytes.get(..MARKUP_SCAN_BYTES).unwrap_or(bytes);
        self.markup = memchr::memchr3_iter(b'<', b'j', b'J', bytes).find_map(|at| {
            let rest = bytes.get(at..).unwrap_or_default();
            MARKUP.iter().copied().find(|m| {
                rest.get(..m.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(m.as_bytes()))
            })
        });
    }

    /// Puts what was found into `rec`: called once the record's own (EXIF) fields are set.
    pub(crate) fn apply(mut self, rec: &mut ImageRecord, image: bool) -> Vec<String> {
        if rec.taken_at_local.is_some() {
            rec.taken_at_source = Some("exif".into());
        }
        if !image {
            return self.warnings;
        }
        rec.c2pa_manifest_present = Some(self.c2pa.is_some());
        rec.embedded_markup = self.markup;
        self.join_extended();
        let x = self.xmp.take().unwrap_or_default();
        let i = self.iptc.take().unwrap_or_default();
        // The IIM was edited after XMP was last brought in line with it: IIM first.
        let iim_first = matches!(
            (self.iim_md5, self.stored_iptc_digest),
            (Some(now), Some(stored)) if now != stored
        );
        let cut = |c: &ColumnSpec, v: Option<&str>| v.and_then(|v| clean_text(v.as_bytes(), c.max_bytes()));
        // XMP's value or IIM's, in the order above; `limit` is the IIM dataset's length limit in bytes.
        let pick = |xmp: &Option<String>, iim: &Option<String>, limit: usize| -> Option<String> {
            match (xmp, iim) {
                (Some(x), Some(i)) if iim_first => Some(recover_cut(i, x, limit).to_owned()),
                (Some(x), _) => Some(x.clone()),
                (None, i) => i.clone(),
            }
        };
        let pick_list = |xmp: &Vec<String>, iim: &Vec<String>, limit: usize| -> Vec<String> {
            if xmp.is_empty() || (iim_first && !iim.is_empty()) {
                let mut list: Vec<String> = Vec::with_capacity(iim.len());
                for (n, v) in iim.iter().enumerate() {
                    let v = match xmp.get(n) {
                        Some(x) => recover_cut(v, x, limit),
                        None => v,
                    };
                    if !list.iter().any(|k| k == v) {
                        list.push(v.to_owned());
                    }
                }
                list
            } else {
                xmp.clone()
            }
        };
        // EXIF's text, set by the EXIF reader, wins where it is not blank.
        let exif_caption = rec.caption.take();
        let exif_creator = rec.creator.take();
        let exif_rights = rec.rights.take();
        rec.title = cut(&schema::TITLE, pick(&x.title, &i.object_name, 64).as_deref());
        rec.caption = exif_caption.or_else(|| {
            cut(
                &schema::CAPTION,
                pick(&x.description, &i.caption, 2000).as_deref(),
            )
        });
        rec.keywords = pick_list(&x.subject, &i.keywords, 64);
        rec.creator = exif_creator.or_else(|| {
            cut(
                &schema::CREATOR,
                Some(&pick_list(&x.creator, &i.by_line, 32).join("; ")),
            )
        });
        rec.rights =
            exif_rights.or_else(|| cut(&schema::RIGHTS, pick(&x.rights, &i.copyright, 128).as_deref()));
        // The location shown comes before Photoshop's city and country, as the guidelines read them.
        let xmp_city = x.shown_city.clone().or_else(|| x.city.clone());
        rec.city = cut(&schema::CITY, pick(&xmp_city, &i.city, 32).as_deref());
        let xmp_country = (x.shown_country.clone())
            .or_else(|| x.country.clone())
            .or_else(|| x.country_name.clone());
        rec.country = cut(&schema::COUNTRY, pick(&xmp_country, &i.country, 64).as_deref());
        if let Some(r) = &x.rating {
            match r.trim().parse::<f64>() {
                Ok(v) if (-1.0..=5.0).contains(&v) => rec.rating = Some(v),
                _ => self
                    .warnings
                    .push(format!("XMP xmp:Rating '{}' is not -1 to 5", r.trim())),
            }
        }
        rec.digital_source_type = cut(
            &schema::DIGITAL_SOURCE_TYPE,
            x.digital_source_type.as_deref().map(source_type_code),
        );
        if let Some(c) = self.c2pa.take() {
            rec.c2pa_claim_generator = cut(&schema::C2PA_CLAIM_GENERATOR, c.claim_generator.as_deref());
            rec.c2pa_digital_source_type = cut(
                &schema::C2PA_DIGITAL_SOURCE_TYPE,
                c.digital_source_type.as_deref().map(source_type_code),
            );
        }
        if let Some(icc) = self.icc.take() {
            rec.icc_profile = cut(&schema::ICC_PROFILE, icc.description.as_deref());
            rec.icc_color_space = cut(&schema::ICC_COLOR_SPACE, icc.color_space.as_deref());
        }
        if rec.taken_at_local.is_none() {
            let iptc_date = || {
                i.date_created
                    .as_deref()
                    .and_then(|d| iptc_date(d, i.time_created.as_deref()))
                    .map(|d| (d, "iptc"))
            };
            let photoshop_date = || x.date_created.as_deref().and_then(xmp_date).map(|d| (d, "xmp"));
            let xmp_exif_date = || {
                x.date_time_original
                    .as_deref()
                    .and_then(xmp_date)
                    .map(|d| (d, "xmp"))
            };
            let found = if iim_first && i.date_created.is_some() {
                iptc_date()
            } else {
                photoshop_date().or_else(iptc_date)
            }
            .or_else(xmp_exif_date);
            let (date, source) = match found {
                Some((d, source)) => (Some(d), source),
                None => (None, ""),
            };
            if let Some((local, offset)) = date {
                rec.taken_at_local = Some(local);
                rec.taken_at_source = Some(source.into());
                if let Some((text, offset)) = offset {
                    rec.taken_at_utc = offset.from_local_datetime(&local).single().map(|t| t.to_utc());
                    rec.taken_at_offset = Some(text);
                }
            }
        }
        if rec.gps_latitude.is_none()
            && let (Some(lat), Some(lon)) = (
                x.gps_latitude
                    .as_deref()
                    .and_then(|v| xmp_coordinate(v, 'N', 'S', 90.0)),
                x.gps_longitude
                    .as_deref()
                    .and_then(|v| xmp_coordinate(v, 'E', 'W', 180.0)),
            )
        {
            rec.gps_latitude = Some(lat);
            rec.gps_longitude = Some(lon);
        }
        self.warnings
    }

    /// Parses the extended XMP whose GUID the main packet names, its chunks put in offset order.
    fn join_extended(&mut self) {
        let Some(guid) = self.xmp.as_ref().and_then(|x| x.extended_guid.clone()) else {
            return;
        };
        let mut chunks: Vec<&(String, u32, Vec<u8>)> =
            self.extended.iter().filter(|(g, _, _)| *g == guid).collect();
        if chunks.is_empty() {
            return;
        }
        chunks.sort_by_key(|(_, offset, _)| *offset);
        let mut packet = Vec::new();
        for (_, offset, data) in chunks {
            if *offset as usize != packet.len() {
                self.warnings
                    .push("JPEG extended XMP has a gap: its later parts are not read".into());
                break;
            }
            packet.extend_from_slice(data);
        }
        let (x, warning) = crate::xmp::parse(&packet);
        self.warnings.extend(warning);
        if let Some(main) = self.xmp.as_mut() {
            main.fill_from(x);
        }
    }
}

/// The IIM value, unless it is the XMP value cut at the IIM dataset's length limit (`limit` bytes, as the IIM
/// specification counts them): then the XMP value, which is the whole of it.
fn recover_cut<'a>(iim: &'a str, xmp: &'a str, limit: usize) -> &'a str {
    if iim.len() == limit && xmp.len() > limit && xmp.starts_with(iim) {
        xmp
    } else {
        iim
    }
}

/// An IPTC NewsCode URI of the digital-source-type vocabulary as its code (`trainedAlgorithmicMedia`); any other
/// value as written.
fn source_type_code(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix("http://cv.iptc.org/newscodes/digitalsourcetype/")
        .or_else(|| v.strip_prefix("https://cv.iptc.org/newscodes/digitalsourcetype/"))
        .filter(|code| !code.is_empty())
        .unwrap_or(v)
}

type Dated = (NaiveDateTime, Option<(String, FixedOffset)>);

/// An XMP date (ISO 8601: `YYYY-MM-DD`, optionally `Thh:mm[:ss[.s]]` and `Z` or `±hh:mm`). A date without a
/// time is taken at midnight; a year or a month alone is no date.
fn xmp_date(v: &str) -> Option<Dated> {
    let v = v.trim();
    let date = NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok()?;
    let rest = v.get(10..).unwrap_or("");
    let Some(rest) = rest.strip_prefix('T') else {
        return rest.is_empty().then(|| (date.and_time(NaiveTime::MIN), None));
    };
    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        .ok()?;
    let offset = match zone {
        "" => None,
        "Z" => Some(("+00:00".to_owned(), FixedOffset::east_opt(0)?)),
        z => Some((z.to_owned(), parse_offset(z)?)),
    };
    Some((date.and_time(time), offset))
}

/// `±hh:mm` or `±hhmm`.
fn parse_offset(z: &str) -> Option<FixedOffset> {
    let sign = match z.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits: String = z.get(1..)?.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..)?.parse().ok()?;
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// IPTC DateCreated (`CCYYMMDD`) with TimeCreated (`HHMMSS±HHMM`), midnight without a time.
fn iptc_date(date: &str, time: Option<&str>) -> Option<Dated> {
    let date = NaiveDate::parse_from_str(date.trim(), "%Y%m%d").ok()?;
    let Some(time) = time.map(str::trim).filter(|t| t.len() >= 6) else {
        return Some((date.and_time(NaiveTime::MIN), None));
    };
    let clock = NaiveTime::parse_from_str(time.get(..6)?, "%H%M%S").ok()?;
    let zone = time.get(6..).filter(|z| !z.is_empty());
    let offset = match zone {
        Some(z) => {
            let o = parse_offset(z)?;
            Some((format!("{}:{}", z.get(..3)?, z.get(3..5)?), o))
        }
        None => None,
    };
    Some((date.and_time(clock), offset))
}

/// An XMP GPS coordinate: `DDD,MM.mmk` or `DDD,MM,SSk` with `k` the hemisphere letter.
fn xmp_coordinate(v: &str, positive: char, negative: char, limit: f64) -> Option<f64> {
    let v = v.trim();
    let hemisphere = v.chars().last()?.to_ascii_uppercase();
    let sign = if hemisphere == positive {
        1.0
    } else if hemisphere == negative {
        -1.0
    } else {
        return None;
    };
    let body = v.get(..v.len() - 1)?;
    let parts: Vec<f64> = body
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let value = match parts.as_slice() {
        [d, m] => d + m / 60.0,
        [d, m, s] => d + m / 60.0 + s / 3600.0,
        _ => return None,
    };
    (value.is_finite() && value <= limit).then_some(sign * value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_and_iptc_dates_and_offsets() {
        let (t, o) = xmp_date("2024-05-01T10:20:30.5+02:00").unwrap();
        assert_eq!(t.to_string(), "2024-05-01 10:20:30.500");
        assert_eq!(o.map(|o| o.0).as_deref(), Some("+02:00"));
        assert_eq!(
            xmp_date("2024-05-01").map(|d| d.0.to_string()).as_deref(),
            Some("2024-05-01 00:00:00")
        );
        assert_eq!(xmp_date("2024-05"), None);
        assert_eq!(
            xmp_date("2024-05-01T10:20Z")
                .and_then(|d| d.1)
                .map(|o| o.0)
                .as_deref(),
            Some("+00:00")
        );
        let (t, o) = iptc_date("20240501", Some("102030-0500")).unwrap();
        assert_eq!(t.to_string(), "2024-05-01 10:20:30");
        assert_eq!(o.map(|o| o.0).as_deref(), Some("-05:00"));
    }

    fn iim(datasets: &[(u8, &str)]) -> Vec<u8> {
        let mut v = b"\x1c\x01\x5a\x00\x03\x1b%G".to_vec();
        for (dataset, text) in datasets {
            v.extend([0x1C, 2, *dataset]);
            v.extend((text.len() as u16).to_be_bytes());
            v.extend(text.as_bytes());
        }
        v
    }

    fn applied(e: Embedded) -> ImageRecord {
        let mut rec = ImageRecord::new(s3shift_core::ExtractStatus::Ok);
        e.apply(&mut rec, true);
        rec
    }

    #[test]
    fn a_stale_iptc_digest_puts_iim_first_and_recovers_cut_values_once() {
        let long = "k".repeat(70);
        let block = iim(&[(25, &long), (25, &long[..64]), (5, "IIM title")]);
        let packet = format!(
            r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
            <rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>
            <rdf:li>first</rdf:li><rdf:li>{long}</rdf:li></rdf:Bag></dc:subject>
            <dc:title><rdf:Alt><rdf:li xml:lang="x-default">XMP title</rdf:li></rdf:Alt></dc:title>
            </rdf:Description></rdf:RDF></x:xmpmeta>"#
        );
        let with_digest = |digest: [u8; 16]| {
            let mut e = Embedded::default();
            e.xmp(packet.as_bytes());
            e.iptc(&block);
            e.stored_iptc_digest = Some(digest);
            applied(e)
        };
        // Stale: IIM wins; its second keyword is the XMP keyword cut at 64 bytes, so the whole one, which the
        // first already is: kept once.
        let stale = with_digest([0; 16]);
        assert_eq!(stale.title.as_deref(), Some("IIM title"));
        assert_eq!(stale.keywords, std::slice::from_ref(&long));
        // Current: XMP wins.
        let current = with_digest(crate::iptc::digest(&block));
        assert_eq!(current.title.as_deref(), Some("XMP title"));
        assert_eq!(current.keywords, ["first".to_owned(), long]);
    }

    #[test]
    fn exif_text_comes_first_unless_blank() {
        let mut e = Embedded::default();
        e.iptc(&iim(&[(120, "IIM caption"), (80, "IIM creator")]));
        let mut rec = ImageRecord::new(s3shift_core::ExtractStatus::Ok);
        rec.caption = Some("EXIF caption".into());
        e.apply(&mut rec, true);
        assert_eq!(rec.caption.as_deref(), Some("EXIF caption"));
        assert_eq!(rec.creator.as_deref(), Some("IIM creator"));
    }

    #[test]
    fn xmp_coordinates_and_source_type_codes() {
        assert_eq!(
            xmp_coordinate("51,30.5N", 'N', 'S', 90.0),
            Some(51.0 + 30.5 / 60.0)
        );
        assert_eq!(xmp_coordinate("0,30,0W", 'E', 'W', 180.0), Some(-0.5));
        assert_eq!(xmp_coordinate("91,0N", 'N', 'S', 90.0), None);
        assert_eq!(xmp_coordinate("51.5", 'N', 'S', 90.0), None);
        assert_eq!(
            source_type_code("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"),
            "trainedAlgorithmicMedia"
        );
        assert_eq!(source_type_code("custom"), "custom");
    }

    #[test]
    fn markup_is_found_in_any_case() {
        let mut e = Embedded::default();
        e.scan_markup(b"\xff\xfe comment <SCRIPT>alert(1)</script>");
        assert_eq!(e.markup, Some("<script"));
        let mut clean = Embedded::default();
        clean.scan_markup(b"JFIF\0 a normal comment");
        assert_eq!(clean.markup, None);
    }
}
