//! A Redshift Data API server over an embedded DuckDB file, on loopback.
//!
//! [`LocalRedshiftServer::start`] serves the awsJson1_1 protocol (`X-Amz-Target: RedshiftData.<Operation>`):
//! ExecuteStatement (parameters, sessions, client tokens), BatchExecuteStatement (up to 40 statements, one
//! transaction), DescribeStatement (asynchronous SUBMITTED → PICKED → STARTED → FINISHED | FAILED | ABORTED),
//! GetStatementResult (typed fields, column metadata, paging), CancelStatement and ListStatements. Statements run
//! on DuckDB after translation from Redshift SQL (see `translate`); COPY ... FORMAT AS PARQUET reads its files
//! through the S3 endpoint it is given (see `copy`).
//!
//! Every request must carry a valid SigV4 signature (see `sigv4`) by one of the configured IAM identities
//! ([`crate::identity`]); its statements run as that identity's database user, whose privileges `access`
//! enforces. The database file persists: `duckdb FILE` opens it for analysts once the server stops.

mod access;
mod api;
mod catalog;
mod concurrency;
mod copy;
mod engine;
mod lex;
mod results;
mod serverless;
pub(crate) mod sigv4;
mod translate;
mod wording;
mod zones;

pub use concurrency::Isolation;
pub use serverless::ServerlessConfig;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::identity::Identity;
use crate::listener::Loopback;
use crate::{Error, Result};

/// Largest request body accepted (the Data API's own limit on SQL is 100,000 characters).
const MAX_REQUEST_BYTES: usize = 8 << 20;

/// Where COPY reads files from: an S3 endpoint and its credentials.
#[derive(Debug, Clone)]
pub struct S3Endpoint {
    /// Endpoint URL, e.g. the local S3 server's.
    pub url: String,
    /// Access key.
    pub access_key: String,
    /// Secret key.
    pub secret_key: String,
}

/// The Data API's limit on the result set of one statement (500 MB).
pub const DATA_API_MAX_RESULT_BYTES: u64 = 500_000_000;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct LocalRedshiftConfig {
    /// The DuckDB database file (created if missing).
    pub database_file: PathBuf,
    /// Address to bind; port 0 picks a free one. Only loopback is accepted.
    pub addr: SocketAddr,
    /// The IAM identities whose signed requests are accepted, each running as its database user.
    pub identities: Vec<Identity>,
    /// Where COPY reads from; without it, COPY fails with a clear error.
    pub s3: Option<S3Endpoint>,
    /// Time each statement spends in SUBMITTED and in PICKED, so that clients see the asynchronous lifecycle.
    pub step_delay: Duration,
    /// Rows per GetStatementResult page.
    pub result_page_rows: usize,
    /// Largest result set a statement may return, in bytes of its values; a larger one fails the statement
    /// as the Data API does ("Database response exceeded size limit"; its limit is 500 MB).
    pub max_result_bytes: u64,
    /// The workgroup and namespace that `RedshiftServerless.GetWorkgroup` / `GetNamespace` report (answered on
    /// the same port).
    pub serverless: ServerlessConfig,
    /// Failures injected into loads (none by default).
    pub faults: RedshiftFaults,
    /// The database's isolation level at start (Serverless's default, SNAPSHOT, unless set); `ALTER DATABASE
    /// ... ISOLATION LEVEL` changes it while the server runs.
    pub isolation: Isolation,
    /// Benchmarks only: a folder where each statement's DuckDB profile (`EXPLAIN ANALYZE` as JSON: operators,
    /// rows scanned, time) is written as `<query id>.json`. None by default (profiling costs time).
    pub profile_dir: Option<PathBuf>,
}

/// Failures injected into loads, deterministically, for the tests of what a client does about them.
#[derive(Debug, Clone, Default)]
pub struct RedshiftFaults {
    /// The first this many batches holding a COPY fail at commit with Redshift's serialization conflict (error
    /// 1023), as the loser of two concurrent loads into one table does; nothing of them is committed.
    pub load_conflicts: usize,
    /// The first this many COPY statements fail as if S3 had answered 503 SlowDown reading their manifest.
    pub copy_read_failures: usize,
    /// The next this many DescribeStatement calls on a load batch (a batch holding a COPY; armed while the server
    /// runs) fail with a ThrottlingException, as the Data API's own rate limit answers; the batch runs on.
    pub describe_failures: Armed,
    /// A batch holding a COPY waits this long before it commits: a slow load, for tests of what overlaps it.
    pub copy_commit_delay: Duration,
}

/// A count of failures still to inject, shared between a running server and the test that arms it.
#[derive(Debug, Clone, Default)]
pub struct Armed(Arc<std::sync::atomic::AtomicUsize>);

impl Armed {
    /// Makes the next `n` calls fail.
    pub fn arm(&self, n: usize) {
        self.0.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether this call is to fail (counting it).
    pub(crate) fn take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Failures still armed.
    pub fn remaining(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl LocalRedshiftConfig {
    /// A server over `database_file` on a free loopback port, the standard identities
    /// ([`crate::identity::standard`]), no S3.
    pub fn new(database_file: impl Into<PathBuf>) -> Self {
        Self {
            database_file: database_file.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            identities: crate::identity::standard(),
            s3: None,
            step_delay: Duration::from_millis(2),
            result_page_rows: 1000,
            max_result_bytes: DATA_API_MAX_RESULT_BYTES,
            serverless: ServerlessConfig::default(),
            faults: RedshiftFaults::default(),
            isolation: Isolation::default(),
            profile_dir: None,
        }
    }
}

/// A running Data API stand-in. Stops when dropped.
#[derive(Debug)]
pub struct LocalRedshiftServer {
    inner: Loopback,
}

impl LocalRedshiftServer {
    /// Opens the database and starts serving; returns once it accepts connections.
    ///
    /// # Errors
    /// [`Error::Warehouse`] when DuckDB cannot open the file, [`Error::Bind`] when the address cannot be bound or is
    /// not loopback.
    pub async fn start(config: LocalRedshiftConfig) -> Result<Self> {
        if let Some(dir) = config
            .database_file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| Error::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let s3 = config.s3.as_ref().map(|e| engine::S3Source {
            client: s3_client(e),
            runtime: tokio::runtime::Handle::current(),
        });
        let path = config.database_file.clone();
        let (step, max_result_bytes) = (config.step_delay, config.max_result_bytes);
        let (faults, isolation) = (config.faults.clone(), config.isolation);
        let roles = copy::NamespaceRoles {
            default: Some(config.serverless.default_iam_role.clone()).filter(|r| !r.is_empty()),
            associated: config.serverless.iam_roles.clone(),
        };
        let engine = tokio::task::spawn_blocking(move || {
            engine::Engine::open(&path, s3, step, max_result_bytes, faults, roles, isolation)
        })
        .await
        .map_err(|e| Error::Warehouse {
            path: config.database_file.clone(),
            message: e.to_string(),
        })?
        .map_err(|message| Error::Warehouse {
            path: config.database_file.clone(),
            message,
        })?;
        let mut engine = engine;
        engine.profile_dir = config.profile_dir.clone();
        let state = Arc::new(State {
            engine: Arc::new(engine),
            identities: config.identities,
            page_rows: config.result_page_rows,
            serverless: config.serverless,
        });
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
        });
        let inner = Loopback::start(config.addr, service).await?;
        tracing::info!(addr = %inner.addr(), db = %config.database_file.display(), "local Redshift Data API listening");
        Ok(Self { inner })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// The endpoint URL for `AWS_ENDPOINT_URL_REDSHIFT_DATA`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.inner.addr())
    }

    /// Stops accepting and waits for open requests (not running statements) to be answered.
    pub async fn stop(self) {
        self.inner.stop().await;
    }
}

fn s3_client(e: &S3Endpoint) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&e.url)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            &e.access_key,
            &e.secret_key,
            None,
            None,
            "s3shift-local",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

struct State {
    engine: Arc<engine::Engine>,
    identities: Vec<Identity>,
    page_rows: usize,
    serverless: ServerlessConfig,
}

/// A statement for a workgroup or a database this stand-in does not serve is refused, never run against the one
/// it does: AWS would not find them. The wording is the stand-in's own (the pages found give none for a Data API
/// call naming an unknown workgroup; Redshift itself answers `database "x" does not exist`), and a refusal at
/// submission, where Redshift might fail the statement later, is the conservative choice: nothing runs.
fn unserved_target(
    serverless: &ServerlessConfig,
    op: &str,
    body: &[u8],
) -> Option<http::Response<Full<Bytes>>> {
    if !matches!(op, "ExecuteStatement" | "BatchExecuteStatement") {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
    if let Some(w) = text("WorkgroupName")
        && w != serverless.workgroup
    {
        return Some(error(
            400,
            "ValidationException",
            format!(
                "Workgroup {w} not found (this stand-in serves workgroup {})",
                serverless.workgroup
            ),
        ));
    }
    if let Some(d) = text("Database")
        && d != serverless.database
    {
        return Some(error(
            400,
            "ValidationException",
            format!(
                "database \"{d}\" does not exist (this stand-in serves database {})",
                serverless.database
            ),
        ));
    }
    None
}

fn reply(status: u16, body: &serde_json::Value) -> http::Response<Full<Bytes>> {
    let mut resp = http::Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Some(kind) = body.get("__type").and_then(|k| k.as_str())
        && let Ok(v) = http::HeaderValue::from_str(kind)
    {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

fn error(status: u16, kind: &'static str, message: impl Into<String>) -> http::Response<Full<Bytes>> {
    reply(
        status,
        &api::ApiError {
            status,
            kind,
            message: message.into(),
            extra: None,
        }
        .body(),
    )
}

/// The service a target's requests are signed for.
fn signing_service(target: &str) -> &'static str {
    if target.starts_with("RedshiftServerless.") {
        "redshift-serverless"
    } else {
        "redshift-data"
    }
}

/// An HTTP status, AWS's error type and message.
type Refusal = (u16, &'static str, String);

/// The identity that signed the request, or AWS's refusal.
fn authenticate<'a>(
    state: &'a State,
    parts: &http::request::Parts,
    body: &[u8],
    target: &str,
) -> Result<&'a Identity, Refusal> {
    sigv4::authenticate(&state.identities, parts, body, signing_service(target))
}

async fn handle(state: &State, req: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    if req.method() != http::Method::POST {
        return error(
            405,
            "UnknownOperationException",
            "the Data API takes POST requests",
        );
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(413, "ValidationException", format!("request body: {e}")),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let identity = match authenticate(state, &parts, &body, &target) {
        Ok(i) => i.clone(),
        Err((status, kind, message)) => return error(status, kind, message),
    };
    let serverless_op = target.strip_prefix("RedshiftServerless.").map(str::to_owned);
    let Some(op) = target
        .strip_prefix("RedshiftData.")
        .map(str::to_owned)
        .or_else(|| serverless_op.clone())
    else {
        return error(
            400,
            "UnknownOperationException",
            format!("unknown X-Amz-Target '{target}'"),
        );
    };
    if serverless_op.is_some() {
        return match serverless::dispatch(&state.serverless, &op, &body) {
            Ok(v) => reply(200, &v),
            Err(e) => reply(e.status, &e.body()),
        };
    }
    if let Some(refusal) = unserved_target(&state.serverless, &op, &body) {
        return refusal;
    }
    let engine = state.engine.clone();
    let page_rows = state.page_rows;
    // DuckDB calls (sessions, statement registry) may block briefly: off the IO threads.
    let answer =
        tokio::task::spawn_blocking(move || api::dispatch(&engine, &identity, &op, &body, page_rows)).await;
    match answer {
        Ok(Ok(v)) => reply(200, &v),
        Ok(Err(e)) => reply(e.status, &e.body()),
        Err(e) => error(500, "InternalServerException", format!("the request failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{LocalRedshiftConfig, LocalRedshiftServer};

    /// A warehouse file DuckDB 2.0 wrote (its three header blocks, taken from one): what an `s3shift local --dir`
    /// folder from before the engine became DuckDB 1.5.6 holds.
    const DUCKDB_2_HEADERS: &[u8] = include_bytes!("../../tests/fixtures/duckdb-2.0-headers.duckdb");

    #[tokio::test]
    async fn a_warehouse_from_a_newer_duckdb_is_named_with_the_way_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("warehouse.duckdb");
        std::fs::write(&file, DUCKDB_2_HEADERS).expect("write the fixture");
        let message = match LocalRedshiftServer::start(LocalRedshiftConfig::new(&file)).await {
            Ok(_) => panic!("DuckDB 1.5.6 opened a DuckDB 2.0 file"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.starts_with(&format!("opening the warehouse {}", file.display())),
            "{message}"
        );
        assert!(
            message.contains("created with a newer version of DuckDB"),
            "{message}"
        );
        assert!(
            message.contains("EXPORT DATABASE") && message.contains("IMPORT DATABASE"),
            "{message}"
        );
    }
}
