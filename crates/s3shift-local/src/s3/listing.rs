//! What ListObjects and ListObjectsV2 answer around the listing itself, as S3 does:
//!
//! - an empty `Delimiter` is no delimiter (s3fs, and so every fsspec-based tool, sends `Delimiter=""` when it
//!   wants every key; splitting keys on the empty string made them look like folders);
//! - `EncodingType=url` URL-encodes the keys, prefixes and delimiter of the answer and says so ("ListObjectsV2":
//!   "If you specify the encoding-type request parameter, Amazon S3 includes this element in the response, and
//!   returns encoded key name values"); botocore asks for it by default and decodes only when it is echoed;
//! - `FetchOwner=true` gives each object its Owner (V2 lists none otherwise).

use s3s::dto::{CommonPrefix, EncodingType, ListObjectsOutput, ListObjectsV2Output, Object, Owner};

/// The owner every object of the stand-in has (one account).
const OWNER_ID: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

fn owner() -> Owner {
    Owner {
        display_name: Some("s3shift-local".into()),
        id: Some(OWNER_ID.into()),
    }
}

/// How the answer is shaped, taken off the request before the listing runs.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    delimiter: Option<String>,
    url: bool,
    owner: bool,
}

impl Shape {
    /// Takes the shaping parameters off a request: an empty delimiter becomes none; the encoding type and the
    /// owner flag are applied to the answer by [`Shape::apply_v2`].
    pub(crate) fn take(
        delimiter: &mut Option<String>,
        encoding: &mut Option<EncodingType>,
        fetch_owner: Option<bool>,
    ) -> Self {
        if delimiter.as_deref() == Some("") {
            *delimiter = None;
        }
        let url = encoding.take().is_some_and(|e| e.as_str() == EncodingType::URL);
        Self {
            delimiter: delimiter.clone(),
            url,
            owner: fetch_owner == Some(true),
        }
    }

    /// Shapes a V1 answer (V1 has no owner flag: S3 lists every object's owner).
    pub(crate) fn apply_v1(&self, mut out: ListObjectsOutput) -> ListObjectsOutput {
        out.delimiter.clone_from(&self.delimiter);
        out.encoding_type = self.shape(
            true,
            &mut out.contents,
            &mut out.common_prefixes,
            [
                &mut out.prefix,
                &mut out.delimiter,
                &mut out.marker,
                &mut out.next_marker,
            ],
        );
        out
    }

    /// Shapes a V2 answer.
    pub(crate) fn apply_v2(&self, mut out: ListObjectsV2Output) -> ListObjectsV2Output {
        out.delimiter.clone_from(&self.delimiter);
        out.encoding_type = self.shape(
            self.owner,
            &mut out.contents,
            &mut out.common_prefixes,
            [&mut out.prefix, &mut out.delimiter, &mut out.start_after],
        );
        out
    }

    /// What both versions share: owners when `owners`, and with `EncodingType=url` the keys, the prefixes and
    /// the `echoed` request fields encoded; the EncodingType to answer with.
    fn shape<const N: usize>(
        &self,
        owners: bool,
        contents: &mut Option<Vec<Object>>,
        prefixes: &mut Option<Vec<CommonPrefix>>,
        echoed: [&mut Option<String>; N],
    ) -> Option<EncodingType> {
        if owners {
            for o in contents.iter_mut().flatten() {
                o.owner = Some(owner());
            }
        }
        if !self.url {
            return None;
        }
        for o in contents.iter_mut().flatten() {
            o.key = o.key.as_deref().map(encode);
        }
        for p in prefixes.iter_mut().flatten() {
            p.prefix = p.prefix.as_deref().map(encode);
        }
        for field in echoed {
            *field = field.as_deref().map(encode);
        }
        Some(EncodingType::from_static(EncodingType::URL))
    }
}

/// The CommonPrefixes element of an answer (absent when there are none).
pub(crate) fn common_prefixes(prefixes: Vec<String>) -> Option<Vec<CommonPrefix>> {
    (!prefixes.is_empty()).then(|| {
        prefixes
            .into_iter()
            .map(|p| CommonPrefix { prefix: Some(p) })
            .collect()
    })
}

/// URL-encodes a listed key as S3 does for `EncodingType=url`: a space is `%20` (see
/// [`s3shift_core::key_url`]).
pub(crate) fn encode(s: &str) -> String {
    s3shift_core::key_url::encode(s, s3shift_core::key_url::Space::Percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_encode_so_a_form_decoder_gives_them_back() {
        assert_eq!(encode("a b+c/d%é.jpg"), "a%20b%2Bc/d%25%C3%A9.jpg");
    }
}
