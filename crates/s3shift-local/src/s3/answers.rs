//! What S3 puts on every answer and s3s leaves out: a request id in `x-amz-request-id` and `x-amz-id-2`, and,
//! on an error, a `<Message>` in S3's words plus `<RequestId>` and `<HostId>` in the XML body ("Error responses",
//! Amazon S3 API Reference: "REST error responses" list Code, Message, RequestId and HostId; its "List of error
//! codes" gives the messages below). Without them botocore reports the message as "Unknown" and users have no
//! id to quote.
//!
//! An error answer to a request that carries a body also closes the connection ([`finish`]).

use bytes::Bytes;
use s3s::{Body, HttpResponse};

/// S3's message for each error code the stand-in answers, from "List of error codes" (Amazon S3 API Reference,
/// "Error responses"). A code not listed keeps s3s's message, or gets the HTTP reason phrase when it has none.
const MESSAGES: &[(&str, &str)] = &[
    ("AccessDenied", "Access Denied"),
    (
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
    ),
    ("BucketNotEmpty", "The bucket you tried to delete is not empty"),
    (
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed object size.",
    ),
    (
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
    (
        "InternalError",
        "We encountered an internal error. Please try again.",
    ),
    (
        "InvalidAccessKeyId",
        "The AWS access key ID you provided does not exist in our records.",
    ),
    ("InvalidBucketName", "The specified bucket is not valid."),
    (
        "InvalidPart",
        "One or more of the specified parts could not be found. The part might not have been uploaded, or the \
         specified entity tag might not have matched the part's entity tag.",
    ),
    (
        "InvalidPartOrder",
        "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
    ),
    ("InvalidRange", "The requested range cannot be satisfied."),
    (
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema.",
    ),
    (
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    ),
    (
        "MissingContentLength",
        "You must provide the Content-Length HTTP header.",
    ),
    ("NoSuchBucket", "The specified bucket does not exist."),
    (
        "NoSuchBucketPolicy",
        "The specified bucket does not have a bucket policy.",
    ),
    ("NoSuchKey", "The specified key does not exist."),
    (
        "NoSuchLifecycleConfiguration",
        "The lifecycle configuration does not exist.",
    ),
    (
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload \
         might have been aborted or completed.",
    ),
    (
        "NotImplemented",
        "A header you provided implies functionality that is not implemented.",
    ),
    (
        "PreconditionFailed",
        "At least one of the preconditions that you specified did not hold.",
    ),
    (
        "RequestTimeTooSkewed",
        "The difference between the request time and the server's time is too large.",
    ),
    (
        "SignatureDoesNotMatch",
        "The request signature that the server calculated does not match the signature that you provided. Check \
         your AWS secret access key and signing method.",
    ),
    ("SlowDown", "Please reduce your request rate."),
];

/// Codes whose s3s wording is its own, not S3's ("missing header: content-length"): S3's message replaces it.
const REWORDED: &[&str] = &[
    "MissingContentLength",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
];

/// A request id as S3 writes them: 16 upper-case hexadecimal digits.
pub(crate) fn request_id(n: u64) -> String {
    format!("{n:016X}")
}

/// The response with S3's request-id headers and, for an XML error, the missing message and ids in the body.
///
/// An error to a request with a body ([`sends_body`]) also carries `Connection: close`, and hyper closes
/// after it. An error is often answered before the body is read (a conditional PUT's 404, a 412, an injected
/// 503); with `Expect: 100-continue` the client may send the body anyway, and on a kept connection hyper
/// sometimes read that body as the start of the client's next request, which then failed with
/// SignatureDoesNotMatch or a bare 404 (seen with boto3). RFC 9110, "Expect": a server that answers before
/// reading the content should say whether it closes the connection; the S3 pages do not say what S3 does, so
/// the stand-in closes.
pub(crate) fn finish(mut resp: HttpResponse, id: &str, sends_body: bool) -> HttpResponse {
    let host_id = format!("s3shift-local/{id}");
    for (name, value) in [("x-amz-request-id", id), ("x-amz-id-2", host_id.as_str())] {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            resp.headers_mut().insert(name, v);
        }
    }
    if resp.status().as_u16() < 400 {
        return resp;
    }
    if sends_body {
        resp.headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    let Some(body) = resp.body().bytes() else {
        return resp;
    };
    let Some(fixed) = completed_error(&body, id, &host_id, resp.status()) else {
        return resp;
    };
    if let Ok(len) = http::HeaderValue::from_str(&fixed.len().to_string()) {
        resp.headers_mut().insert(http::header::CONTENT_LENGTH, len);
    }
    *resp.body_mut() = Body::from(Bytes::from(fixed));
    resp
}

/// Whether a request with these headers carries a body (a length other than 0, chunked, or `Expect`).
pub(crate) fn sends_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers.contains_key(http::header::EXPECT)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// The error body with a Message in S3's words where it has none (or s3s's own), and RequestId and HostId;
/// `None` when the body is no `<Error>` document.
fn completed_error(body: &[u8], id: &str, host_id: &str, status: http::StatusCode) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let end = text.rfind("</Error>")?;
    let code = between(text, "<Code>", "</Code>")?;
    let ours = MESSAGES.iter().find(|(c, _)| *c == code).map(|(_, m)| *m);
    let old = between(text, "<Message>", "</Message>");
    let message = match (old, ours) {
        (None, _) => Some(ours.unwrap_or_else(|| status.canonical_reason().unwrap_or("Error"))),
        (Some(_), Some(m)) if REWORDED.contains(&code) => Some(m),
        _ => None,
    };
    let mut head = text[..end].to_owned();
    if let Some(message) = message {
        if let Some(old) = old {
            head = head.replacen(&format!("<Message>{old}</Message>"), "", 1);
        }
        let after_code = head.find("</Code>")? + "</Code>".len();
        head.insert_str(after_code, &format!("<Message>{message}</Message>"));
    }
    let mut out = head;
    if !text.contains("<RequestId>") {
        out.push_str(&format!("<RequestId>{id}</RequestId><HostId>{host_id}</HostId>"));
    }
    out.push_str(&text[end..]);
    Some(out)
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_MESSAGE: &str =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code></Error>";

    #[test]
    fn an_error_without_a_message_gets_s3s_words_and_the_ids() {
        let out = completed_error(
            NO_MESSAGE.as_bytes(),
            "00000000000000AB",
            "h",
            http::StatusCode::NOT_FOUND,
        );
        assert_eq!(
            out.as_deref(),
            Some(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code>\
                 <Message>The specified bucket does not exist.</Message>\
                 <RequestId>00000000000000AB</RequestId><HostId>h</HostId></Error>"
            )
        );
    }

    #[test]
    fn a_message_of_ours_is_kept_and_s3s_wording_is_replaced() {
        let kept = "<Error><Code>NoSuchKey</Code><Message>no such key: a/b</Message></Error>";
        let out = completed_error(kept.as_bytes(), "1", "h", http::StatusCode::NOT_FOUND);
        assert!(out.is_some_and(|o| o.contains("<Message>no such key: a/b</Message>")));
        let s3s = "<Error><Code>MissingContentLength</Code><Message>missing header: content-length</Message></Error>";
        let out = completed_error(s3s.as_bytes(), "1", "h", http::StatusCode::LENGTH_REQUIRED);
        assert!(out.is_some_and(|o| {
            o.contains("<Message>You must provide the Content-Length HTTP header.</Message>")
        }));
    }

    #[test]
    fn an_unlisted_code_gets_the_reason_phrase_and_a_non_error_body_is_left_alone() {
        let out = completed_error(
            b"<Error><Code>Odd</Code></Error>",
            "1",
            "h",
            http::StatusCode::BAD_REQUEST,
        );
        assert!(out.is_some_and(|o| o.contains("<Message>Bad Request</Message>")));
        assert!(completed_error(b"not xml", "1", "h", http::StatusCode::BAD_REQUEST).is_none());
        assert_eq!(request_id(255), "00000000000000FF");
    }

    /// A PUT answered before its body is read (here: unsigned, so 403 before s3s reads anything) is answered with
    /// `Connection: close`, and the server closes: the body byte the client sent anyway can never be read as the
    /// start of its next request.
    #[tokio::test]
    async fn an_error_before_the_body_is_read_closes_the_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = crate::s3::LocalS3Server::start(crate::s3::LocalS3Config::new(dir.path()))
            .await
            .expect("server");
        let mut socket = tokio::net::TcpStream::connect(server.addr())
            .await
            .expect("connect");
        tokio::io::AsyncWriteExt::write_all(
                &mut socket,
                b"PUT /some-bucket/k HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n2",
            )
            .await
            .expect("send");
        let mut answer = Vec::new();
        // The server closes after its answer, so reading to the end finishes.
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut answer),
        )
        .await
        .expect("the server closed the connection")
        .expect("read");
        let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 403"), "{answer}");
        assert!(answer.contains("\r\nconnection: close\r\n"), "{answer}");
    }
}
