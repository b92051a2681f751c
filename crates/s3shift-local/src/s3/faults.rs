//! The HTTP layer in front of s3s: fault injection (added latency, 503 SlowDown answers, connections dropped
//! mid-body), and every answer finished with S3's request ids and error messages (`answers`).
//!
//! Each request draws its fate from a counter hashed with the seed (splitmix64), so a sequential client sees
//! the same faults on every run; concurrent clients see the same multiset of faults in arrival order.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::{Body, HttpError, HttpResponse};

/// Faults to inject; the default injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultConfig {
    /// Delay added before each request is handled.
    pub latency: Duration,
    /// Requests per thousand answered `503 SlowDown` without being handled.
    pub slowdown_per_mille: u16,
    /// Responses per thousand whose body is cut after half its bytes, dropping the connection.
    pub drop_body_per_mille: u16,
    /// Seed of the draw.
    pub seed: u64,
    /// GETs of objects whose key contains one of these are answered `403 AccessDenied`, as S3 answers a reader
    /// that may not use the object's KMS key: an object no retry reads (a poison message in event mode).
    pub denied_keys: Vec<String>,
}

impl FaultConfig {
    fn is_off(&self) -> bool {
        self.latency.is_zero()
            && self.slowdown_per_mille == 0
            && self.drop_body_per_mille == 0
            && self.denied_keys.is_empty()
    }

    fn denies(&self, req: &http::Request<Body>) -> bool {
        req.method() == http::Method::GET
            && !self.denied_keys.is_empty()
            && self
                .denied_keys
                .iter()
                .any(|k| req.uri().path().contains(k.as_str()))
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[derive(Clone)]
pub(crate) struct FaultyService {
    inner: S3Service,
    faults: Arc<FaultConfig>,
    counter: Arc<AtomicU64>,
    /// The next request id (see `answers`): starts from the clock, so ids differ between server runs.
    request_ids: Arc<AtomicU64>,
}

impl FaultyService {
    pub(crate) fn new(inner: S3Service, faults: FaultConfig) -> Self {
        Self {
            inner,
            faults: Arc::new(faults),
            counter: Arc::new(AtomicU64::new(0)),
            request_ids: Arc::new(AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() << 24),
            )),
        }
    }
}

fn slowdown() -> HttpResponse {
    error_answer(http::StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
}

fn error_answer(status: http::StatusCode, code: &str) -> HttpResponse {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code></Error>");
    let mut resp = HttpResponse::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

impl hyper::service::Service<http::Request<Incoming>> for FaultyService {
    type Response = HttpResponse;
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send>>;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        let this = self.clone();
        let id = super::answers::request_id(self.request_ids.fetch_add(1, Ordering::Relaxed));
        let sends_body = super::answers::sends_body(req.headers());
        Box::pin(async move {
            let resp = this.answer(req).await?;
            Ok(super::answers::finish(resp, &id, sends_body))
        })
    }
}

impl FaultyService {
    /// The inner service's answer to `req`, with the configured faults.
    async fn answer(&self, req: http::Request<Incoming>) -> Result<HttpResponse, HttpError> {
        let req = req.map(Body::from);
        if self.faults.is_off() {
            return self.inner.call(req).await;
        }
        let draw = splitmix64(self.faults.seed ^ self.counter.fetch_add(1, Ordering::Relaxed));
        let slow = (draw % 1000) < u64::from(self.faults.slowdown_per_mille);
        let cut = ((draw >> 20) % 1000) < u64::from(self.faults.drop_body_per_mille);
        if !self.faults.latency.is_zero() {
            tokio::time::sleep(self.faults.latency).await;
        }
        if slow {
            return Ok(slowdown());
        }
        if self.faults.denies(&req) {
            return Ok(error_answer(http::StatusCode::FORBIDDEN, "AccessDenied"));
        }
        let resp = self.inner.call(req).await?;
        let length = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if !cut || length < 2 {
            return Ok(resp);
        }
        Ok(resp.map(|body| {
            Body::http_body(CutBody {
                inner: body,
                left: length / 2,
                pause: None,
            })
        }))
    }
}

/// A body that passes `left` bytes, then fails: hyper then drops the connection mid-body. The failure waits a
/// moment so the headers and the first bytes are on the wire first, as when a real connection breaks.
struct CutBody {
    inner: Body,
    left: u64,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            let pause = this
                .pause
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
            return match pause.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err("s3shift-local: injected connection drop".into()))),
                Poll::Pending => Poll::Pending,
            };
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    let n = data.len().min(usize::try_from(this.left).unwrap_or(usize::MAX));
                    this.left -= n as u64;
                    Poll::Ready(Some(Ok(Frame::data(data.slice(..n)))))
                }
                Err(other) => Poll::Ready(Some(Ok(other))),
            },
            other => other,
        }
    }
}
