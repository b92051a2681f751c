//! XMP packets: the RDF/XML properties analysts ask for (Dublin Core title, description, keywords, creator and
//! rights; rating; city and country, also from the first `Iptc4xmpExt:LocationShown` structure; capture dates;
//! GPS; the IPTC digital source type).
//!
//! Properties are read where XMP puts top-level properties: as attributes or child elements of an
//! `rdf:Description` directly under `rdf:RDF`, with arrays (`rdf:Alt`, `rdf:Bag`, `rdf:Seq`) of `rdf:li`.
//! Namespaces are matched by URI, never by prefix. The XML parser (quick-xml) expands no entity but the five
//! predefined ones and character references, so a DOCTYPE's "billion laughs" costs nothing; a packet that is
//! not well-formed keeps what was read before the fault, with a warning.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

const RDF: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &[u8] = b"http://purl.org/dc/elements/1.1/";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/";
const PHOTOSHOP: &[u8] = b"http://ns.adobe.com/photoshop/1.0/";
const EXIF: &[u8] = b"http://ns.adobe.com/exif/1.0/";
const IPTC_CORE: &[u8] = b"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";
const IPTC_EXT: &[u8] = b"http://iptc.org/std/Iptc4xmpExt/2008-02-29/";
const XMP_NOTE: &[u8] = b"http://ns.adobe.com/xmp/note/";

/// Most values kept of one array property (keywords, creators).
const MAX_ITEMS: usize = 1000;
/// Most bytes kept of one value before it is cut to its column.
const MAX_VALUE: usize = 16 * 1024;

/// The properties read from one packet (or a packet and its extension).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Xmp {
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) subject: Vec<String>,
    pub(crate) creator: Vec<String>,
    pub(crate) rights: Option<String>,
    pub(crate) rating: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) country: Option<String>,
    /// `Iptc4xmpCore:CountryName` (the IPTC Core name for what Photoshop calls Country).
    pub(crate) country_name: Option<String>,
    /// The first `Iptc4xmpExt:LocationShown` structure's City and CountryName (the guidelines read these
    /// before `photoshop:City` and `photoshop:Country`).
    pub(crate) shown_city: Option<String>,
    pub(crate) shown_country: Option<String>,
    /// `exif:DateTimeOriginal`.
    pub(crate) date_time_original: Option<String>,
    /// `photoshop:DateCreated`.
    pub(crate) date_created: Option<String>,
    pub(crate) gps_latitude: Option<String>,
    pub(crate) gps_longitude: Option<String>,
    pub(crate) digital_source_type: Option<String>,
    /// `xmpNote:HasExtendedXMP`: the GUID of an extension packet (JPEG only).
    pub(crate) extended_guid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    Title,
    Description,
    Subject,
    Creator,
    Rights,
    Rating,
    City,
    Country,
    CountryName,
    LocationShown,
    DateTimeOriginal,
    DateCreated,
    GpsLatitude,
    GpsLongitude,
    DigitalSourceType,
    HasExtendedXmp,
}

fn prop(ns: &[u8], local: &[u8]) -> Option<Prop> {
    Some(match (ns, local) {
        (DC, b"title") => Prop::Title,
        (DC, b"description") => Prop::Description,
        (DC, b"subject") => Prop::Subject,
        (DC, b"creator") => Prop::Creator,
        (DC, b"rights") => Prop::Rights,
        (XMP, b"Rating") => Prop::Rating,
        (PHOTOSHOP, b"City") => Prop::City,
        (PHOTOSHOP, b"Country") => Prop::Country,
        (PHOTOSHOP, b"DateCreated") => Prop::DateCreated,
        (IPTC_CORE, b"CountryName") => Prop::CountryName,
        (IPTC_EXT, b"LocationShown") => Prop::LocationShown,
        (EXIF, b"DateTimeOriginal") => Prop::DateTimeOriginal,
        (EXIF, b"GPSLatitude") => Prop::GpsLatitude,
        (EXIF, b"GPSLongitude") => Prop::GpsLongitude,
        (IPTC_EXT, b"DigitalSourceType") => Prop::DigitalSourceType,
        (XMP_NOTE, b"HasExtendedXMP") => Prop::HasExtendedXmp,
        _ => return None,
    })
}

impl Xmp {
    fn set(&mut self, p: Prop, values: Vec<String>) {
        let first = values.first().cloned();
        let slot = match p {
            Prop::Subject => {
                extend_unique(&mut self.subject, values);
                return;
            }
            Prop::Creator => {
                extend_unique(&mut self.creator, values);
                return;
            }
            Prop::Title => &mut self.title,
            Prop::Description => &mut self.description,
            Prop::Rights => &mut self.rights,
            Prop::Rating => &mut self.rating,
            Prop::City => &mut self.city,
            Prop::Country => &mut self.country,
            Prop::CountryName => &mut self.country_name,
            // Its fields are read by the walk (`Capture::shown`), not as values.
            Prop::LocationShown => return,
            Prop::DateTimeOriginal => &mut self.date_time_original,
            Prop::DateCreated => &mut self.date_created,
            Prop::GpsLatitude => &mut self.gps_latitude,
            Prop::GpsLongitude => &mut self.gps_longitude,
            Prop::DigitalSourceType => &mut self.digital_source_type,
            Prop::HasExtendedXmp => &mut self.extended_guid,
        };
        if slot.is_none() {
            *slot = first.filter(|v| !v.trim().is_empty());
        }
    }

    /// Takes the properties of `other` that this packet lacks (an extension packet's, say).
    pub(crate) fn fill_from(&mut self, other: Xmp) {
        fn fill(a: &mut Option<String>, b: Option<String>) {
            if a.is_none() {
                *a = b;
            }
        }
        fill(&mut self.title, other.title);
        fill(&mut self.description, other.description);
        extend_unique(&mut self.subject, other.subject);
        extend_unique(&mut self.creator, other.creator);
        fill(&mut self.rights, other.rights);
        fill(&mut self.rating, other.rating);
        fill(&mut self.city, other.city);
        fill(&mut self.country, other.country);
        fill(&mut self.country_name, other.country_name);
        fill(&mut self.shown_city, other.shown_city);
        fill(&mut self.shown_country, other.shown_country);
        fill(&mut self.date_time_original, other.date_time_original);
        fill(&mut self.date_created, other.date_created);
        fill(&mut self.gps_latitude, other.gps_latitude);
        fill(&mut self.gps_longitude, other.gps_longitude);
        fill(&mut self.digital_source_type, other.digital_source_type);
    }
}

fn extend_unique(list: &mut Vec<String>, values: Vec<String>) {
    for v in values {
        let v = v.trim().to_owned();
        if !v.is_empty() && list.len() < MAX_ITEMS && !list.contains(&v) {
            list.push(v);
        }
    }
}

/// The property being read: which, at what depth its element opened, its values so far.
struct Capture {
    prop: Prop,
    depth: usize,
    /// The text of the value being read (the element's own text, or the current `rdf:li`'s).
    text: String,
    /// Depth of the open `rdf:li`, if one is open.
    li: Option<usize>,
    /// Whether the open `rdf:li` is the `x-default` one of an `rdf:Alt`.
    li_default: bool,
    values: Vec<String>,
    /// The `x-default` value of an `rdf:Alt`, which wins over the order.
    default: Option<String>,
    /// For `LocationShown`: the structure field being read (`true` for City, `false` for CountryName) and the
    /// depth of its element, and the first City and CountryName found.
    field: Option<(bool, usize)>,
    shown: (Option<String>, Option<String>),
}

impl Capture {
    /// Appends `s`, cut (at a character boundary) so the value stays within [`MAX_VALUE`] bytes.
    fn push_text(&mut self, s: &str) {
        let room = MAX_VALUE.saturating_sub(self.text.len());
        self.text.push_str(s3shift_core::text::truncate_utf8(s, room));
    }

    /// A `LocationShown` field's value, kept when it is the first of its kind.
    fn shown_field(&mut self, city: bool, value: &str) {
        let slot = if city {
            &mut self.shown.0
        } else {
            &mut self.shown.1
        };
        let value = value.trim();
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }

    fn finish(mut self) -> Vec<String> {
        if let Some(d) = self.default.take() {
            self.values.insert(0, d);
        }
        if self.values.is_empty() && !self.text.trim().is_empty() {
            self.values.push(std::mem::take(&mut self.text));
        }
        self.values
    }
}

/// Where the walk is: depth, the top-level `rdf:RDF` and `rdf:Description`, the property being read.
#[derive(Default)]
struct Walk {
    depth: usize,
    rdf_depth: Option<usize>,
    /// Depth of the top-level rdf:Description being read (its parent is rdf:RDF).
    description: Option<usize>,
    capture: Option<Capture>,
    out: Xmp,
}

/// Reads the properties of `packet`; the second value is a warning when the packet is not well-formed (what was
/// read before the fault is kept).
pub(crate) fn parse(packet: &[u8]) -> (Xmp, Option<String>) {
    let mut reader = NsReader::from_reader(packet);
    let mut w = Walk::default();
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, e)) => (ns_bytes(&ns), e),
            Err(e) => {
                let at = reader.buffer_position();
                return (
                    w.out,
                    Some(format!("XMP packet is not well-formed XML at byte {at}: {e}")),
                );
            }
        };
        match event {
            Event::Eof if w.depth > 0 => {
                let open = w.depth;
                return (
                    w.out,
                    Some(format!(
                        "XMP packet is not well-formed XML: it ends inside {open} open elements"
                    )),
                );
            }
            Event::Eof => break,
            Event::Start(e) => w.open(&reader, ns, &e),
            Event::Empty(e) => {
                w.open(&reader, ns, &e);
                w.close();
            }
            Event::End(_) => w.close(),
            Event::Text(t) => {
                if let Some(c) = w.capture.as_mut() {
                    // Bytes that are not UTF-8 become U+FFFD, one per bad sequence, rather than losing the value.
                    match t.xml10_content() {
                        Ok(s) => c.push_text(&s),
                        Err(_) => c.push_text(&String::from_utf8_lossy(&t)),
                    }
                }
            }
            Event::CData(t) => {
                if let Some(c) = w.capture.as_mut()
                    && let Ok(s) = t.decode()
                {
                    c.push_text(&s);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(c) = w.capture.as_mut() {
                    let ch = match r.resolve_char_ref() {
                        Ok(Some(ch)) => Some(ch),
                        _ => match r.decode().as_deref() {
                            Ok("amp") => Some('&'),
                            Ok("lt") => Some('<'),
                            Ok("gt") => Some('>'),
                            Ok("quot") => Some('"'),
                            Ok("apos") => Some('\''),
                            // Entities a DOCTYPE defines are never expanded: kept as written, as exiftool does.
                            _ => None,
                        },
                    };
                    match ch {
                        Some(ch) => c.push_text(ch.encode_utf8(&mut [0; 4])),
                        None => c.push_text(&format!("&{};", String::from_utf8_lossy(&r))),
                    }
                }
            }
            _ => {}
        }
    }
    (w.out, None)
}

/// An attribute's value with its references resolved (the predefined ones only).
fn attribute_value(a: &quick_xml::events::attributes::Attribute<'_>) -> Option<String> {
    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .ok()
        .map(|v| v.into_owned())
}

/// Which `LocationShown` field a local name is: `Some(true)` for City, `Some(false)` for CountryName.
fn shown_field(local: &[u8]) -> Option<bool> {
    match local {
        b"City" => Some(true),
        b"CountryName" => Some(false),
        _ => None,
    }
}

fn ns_bytes(ns: &ResolveResult<'_>) -> Option<Vec<u8>> {
    match ns {
        ResolveResult::Bound(n) => Some(n.as_ref().to_vec()),
        _ => None,
    }
}

impl Walk {
    /// An element opens (one level deeper).
    fn open(&mut self, reader: &NsReader<&[u8]>, ns: Option<Vec<u8>>, e: &BytesStart<'_>) {
        self.depth += 1;
        let depth = self.depth;
        let local = e.local_name();
        let local = local.as_ref();
        let is_rdf = ns.as_deref() == Some(RDF);
        if let Some(c) = self.capture.as_mut() {
            if c.prop == Prop::LocationShown {
                // A structure's fields as elements (`rdf:parseType="Resource"`) or as attributes of its rdf:li
                // or rdf:Description.
                for a in e.attributes().flatten() {
                    let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
                    if let (ResolveResult::Bound(n), Some(v)) = (ans, attribute_value(&a))
                        && n.as_ref() == IPTC_EXT
                        && let Some(city) = shown_field(alocal.as_ref())
                    {
                        c.shown_field(city, &v);
                    }
                }
                if ns.as_deref() == Some(IPTC_EXT)
                    && c.field.is_none()
                    && let Some(city) = shown_field(local)
                {
                    c.field = Some((city, depth));
                    c.text.clear();
                }
                return;
            }
            if is_rdf && local == b"li" && c.li.is_none() {
                c.li = Some(depth);
                c.text.clear();
                c.li_default = e.attributes().flatten().any(|a| {
                    a.key.as_ref() == b"xml:lang"
                        && attribute_value(&a).is_some_and(|v| v.eq_ignore_ascii_case("x-default"))
                });
            }
            return;
        }
        if is_rdf && local == b"RDF" && self.rdf_depth.is_none() {
            self.rdf_depth = Some(depth);
            return;
        }
        if is_rdf
            && local == b"Description"
            && self.description.is_none()
            && self.rdf_depth == Some(depth - 1)
        {
            self.description = Some(depth);
            // Simple properties written as attributes.
            for a in e.attributes().flatten() {
                let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
                let (ResolveResult::Bound(ans), Some(v)) = (ans, attribute_value(&a)) else {
                    continue;
                };
                if let Some(p) = prop(ans.as_ref(), alocal.as_ref()) {
                    self.out.set(p, vec![v]);
                }
            }
            return;
        }
        if let (Some(d), Some(ns)) = (self.description, ns.as_deref())
            && depth == d + 1
            && let Some(p) = prop(ns, local)
        {
            let mut c = Capture {
                prop: p,
                depth,
                text: String::new(),
                li: None,
                li_default: false,
                values: Vec::new(),
                default: None,
                field: None,
                shown: (None, None),
            };
            // A URI value written as rdf:resource.
            for a in e.attributes().flatten() {
                let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
                if matches!(ans, ResolveResult::Bound(n) if n.as_ref() == RDF)
                    && alocal.as_ref() == b"resource"
                    && let Some(v) = attribute_value(&a)
                {
                    c.values.push(v);
                }
            }
            self.capture = Some(c);
        }
    }

    /// The element at the current depth closes.
    fn close(&mut self) {
        let depth = self.depth;
        self.depth = depth.saturating_sub(1);
        if let Some(c) = self.capture.as_mut() {
            if let Some((city, d)) = c.field
                && d == depth
            {
                c.field = None;
                let value = std::mem::take(&mut c.text);
                c.shown_field(city, &value);
                return;
            }
            if c.prop == Prop::LocationShown {
                if c.depth == depth
                    && let Some(c) = self.capture.take()
                {
                    let (city, country) = c.shown;
                    if self.out.shown_city.is_none() && self.out.shown_country.is_none() {
                        self.out.shown_city = city;
                        self.out.shown_country = country;
                    }
                }
                return;
            }
            if c.li == Some(depth) {
                c.li = None;
                let value = std::mem::take(&mut c.text);
                if c.li_default && c.default.is_none() {
                    c.default = Some(value);
                } else if c.values.len() < MAX_ITEMS {
                    c.values.push(value);
                }
                return;
            }
            if c.depth == depth
                && let Some(c) = self.capture.take()
            {
                let p = c.prop;
                self.out.set(p, c.finish());
            }
            return;
        }
        if self.description == Some(depth) {
            self.description = None;
        } else if self.rdf_depth == Some(depth) {
            self.rdf_depth = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:d="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmp:Rating="4" photoshop:City="K&#xF6;ln">
   <d:title><rdf:Alt><rdf:li xml:lang="de">Titel</rdf:li><rdf:li xml:lang="x-default">Title &amp; more</rdf:li></rdf:Alt></d:title>
   <d:subject><rdf:Bag><rdf:li>sunset</rdf:li><rdf:li>beach, sand</rdf:li><rdf:li>Straße</rdf:li></rdf:Bag></d:subject>
   <d:creator><rdf:Seq><rdf:li>Ann</rdf:li><rdf:li>Bo</rdf:li></rdf:Seq></d:creator>
   <Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>
   <photoshop:DateCreated>2024-05-01T10:20:30+02:00</photoshop:DateCreated>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#;

    #[test]
    fn the_first_location_shown_structure_gives_city_and_country() {
        let wrap = |body: &str| {
            format!(
                r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
                <rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
                 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Oslo">{body}</rdf:Description>
                </rdf:RDF></x:xmpmeta>"#
            )
        };
        let as_elements = wrap(
            r#"<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource">
               <Iptc4xmpExt:City> Bergen </Iptc4xmpExt:City><Iptc4xmpExt:CountryName>Norge</Iptc4xmpExt:CountryName>
               </rdf:li><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>Tromsø</Iptc4xmpExt:City></rdf:li>
               </rdf:Bag></Iptc4xmpExt:LocationShown>"#,
        );
        let (x, warning) = parse(as_elements.as_bytes());
        assert_eq!(warning, None);
        assert_eq!(
            (
                x.shown_city.as_deref(),
                x.shown_country.as_deref(),
                x.city.as_deref()
            ),
            (Some("Bergen"), Some("Norge"), Some("Oslo"))
        );
        let as_attributes = wrap(
            r#"<Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li><rdf:Description Iptc4xmpExt:City="Bergen"
               Iptc4xmpExt:CountryName="Norge"/></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>"#,
        );
        let (x, _) = parse(as_attributes.as_bytes());
        assert_eq!(
            (x.shown_city.as_deref(), x.shown_country.as_deref()),
            (Some("Bergen"), Some("Norge"))
        );
    }

    #[test]
    fn reads_attributes_arrays_and_languages_by_namespace() {
        let (x, warning) = parse(PACKET.as_bytes());
        assert_eq!(warning, None);
        assert_eq!(x.title.as_deref(), Some("Title & more"));
        assert_eq!(x.subject, ["sunset", "beach, sand", "Straße"]);
        assert_eq!(x.creator, ["Ann", "Bo"]);
        assert_eq!(x.rating.as_deref(), Some("4"));
        assert_eq!(x.city.as_deref(), Some("Köln"));
        assert_eq!(x.date_created.as_deref(), Some("2024-05-01T10:20:30+02:00"));
        assert!(
            x.digital_source_type
                .is_some_and(|d| d.ends_with("trainedAlgorithmicMedia"))
        );
    }

    #[test]
    fn entities_are_never_expanded_and_faults_keep_what_was_read() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:rights>&b;&b;(c)</dc:rights>
<dc:title><rdf:Alt><rdf:li>unclosed"#;
        let (x, warning) = parse(bomb.as_bytes());
        assert_eq!(x.rights.as_deref(), Some("&b;&b;(c)"));
        assert!(warning.is_some_and(|w| w.contains("not well-formed")), "{x:?}");
    }

    #[test]
    fn nested_structures_are_not_taken_for_top_level_properties() {
        let packet = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">
<Iptc4xmpCore:CreatorContactInfo><rdf:Description photoshop:City="nested"/></Iptc4xmpCore:CreatorContactInfo>
<photoshop:City>top</photoshop:City></rdf:Description></rdf:RDF>"#;
        let (x, _) = parse(packet.as_bytes());
        assert_eq!(x.city.as_deref(), Some("top"));
    }
}
