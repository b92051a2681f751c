//! An S3-compatible server over a local directory, on loopback.
//!
//! [`LocalS3Server::start`] binds `127.0.0.1` (port 0 picks a free one), serves each accepted connection with
//! HTTP/1.1 or HTTP/2, and checks SigV4 signatures against one access key. Buckets are folders under
//! `<dir>/buckets`, objects files in them (`layout` says where: keys that are also folders work); event
//! notifications go to the SQS stand-in's queues (`notifications`); what s3s-fs does not keep (lifecycle, default encryption and policy of each bucket) lives under
//! `<dir>/meta`. Dropping the
//! server, or calling [`LocalS3Server::stop`], stops accepting and ends open connections.

mod answers;
mod bucket_config;
mod fastget;
mod fastlist;
mod faults;
mod key_locks;
mod layout;
mod listing;
mod multipart;
mod notifications;
mod preconditions;
mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub use faults::FaultConfig;

/// Where s3s-fs keeps one object's side files under `root` (the buckets folder): `kind` is `internal` (its ETag
/// and checksums) or `metadata` (its headers and user metadata). The fast paths and the multipart checks read
/// and write them; s3s-fs owns the layout.
pub(crate) fn side_file(root: &Path, bucket: &str, key: &str, kind: &str) -> PathBuf {
    let encode = |s: &str| base64_simd::URL_SAFE_NO_PAD.encode_to_string(s);
    root.join(format!(
        ".bucket-{}.object-{}.{kind}.json",
        encode(bucket),
        encode(key)
    ))
}

use crate::listener::Loopback;
use crate::{Error, Result};

/// Access key the stand-ins accept unless told otherwise.
pub const DEFAULT_ACCESS_KEY: &str = "s3shift-local";
/// Secret key the stand-ins accept unless told otherwise.
pub const DEFAULT_SECRET_KEY: &str = "s3shift-local-secret";

/// How to run the server.
#[derive(Debug, Clone)]
pub struct LocalS3Config {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// Address to bind; port 0 picks a free port. Only loopback addresses are accepted.
    pub addr: SocketAddr,
    /// The access key accepted (the administrator's).
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Further identities whose keys are accepted (the stand-in does not evaluate IAM or bucket policies: every
    /// accepted key may do everything).
    pub identities: Vec<crate::identity::Identity>,
    /// Injected faults (none by default).
    pub faults: FaultConfig,
    /// The queues bucket event notifications may go to (the SQS stand-in's); none: PutBucketNotificationConfiguration
    /// with a queue is refused, as S3 refuses a destination it cannot validate.
    pub events: Option<crate::sqs::SharedQueues>,
}

impl LocalS3Config {
    /// A server over `dir` on a free loopback port, default credentials, no faults.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_key: DEFAULT_ACCESS_KEY.into(),
            secret_key: DEFAULT_SECRET_KEY.into(),
            identities: crate::identity::standard(),
            faults: FaultConfig::default(),
            events: None,
        }
    }
}

/// A running S3 stand-in. Stops when dropped.
#[derive(Debug)]
pub struct LocalS3Server {
    inner: Loopback,
}

impl LocalS3Server {
    /// Starts the server; returns once it accepts connections.
    ///
    /// # Errors
    /// [`Error::Dir`] when the directory cannot be created, [`Error::Bind`] when the address cannot be bound or is
    /// not loopback, [`Error::Store`] when s3s-fs refuses the directory.
    pub async fn start(config: LocalS3Config) -> Result<Self> {
        let buckets = ensure_dir(&config.dir.join("buckets"))?;
        let buckets = buckets.canonicalize().map_err(|source| Error::Dir {
            path: buckets.clone(),
            source,
        })?;
        let meta = ensure_dir(&config.dir.join("meta"))?;
        let fs = s3s_fs::FileSystem::new(&buckets).map_err(|e| Error::Store {
            path: buckets.clone(),
            message: format!("{e:?}"),
        })?;
        let store = store::LocalStore::new(fs, buckets.clone(), meta, config.events.clone());
        let mut builder = S3ServiceBuilder::new(store);
        let mut auth = SimpleAuth::from_single(config.access_key.clone(), config.secret_key.clone());
        for i in config
            .identities
            .iter()
            .filter(|i| i.access_key != config.access_key)
        {
            auth.register(i.access_key.clone(), i.secret_key.clone().into());
        }
        builder.set_auth(auth);
        let service = faults::FaultyService::new(builder.build(), config.faults.clone());
        let inner = Loopback::start(config.addr, service).await?;
        tracing::info!(addr = %inner.addr(), dir = %config.dir.display(), "local S3 listening");
        Ok(Self { inner })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// The endpoint URL for `AWS_ENDPOINT_URL_S3` (path-style addressing).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.inner.addr())
    }

    /// Stops accepting, lets open requests finish for up to 5 seconds, then returns.
    pub async fn stop(self) {
        self.inner.stop().await;
    }
}

fn ensure_dir(path: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(path).map_err(|source| Error::Dir {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}
