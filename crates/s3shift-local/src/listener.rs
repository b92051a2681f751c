//! The part both stand-ins share: bind loopback, serve each connection with HTTP/1.1 or HTTP/2, stop on
//! request or drop with a bounded graceful drain.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Error, Result};

/// How long open requests may take to finish once a server is told to stop.
const DRAIN: Duration = Duration::from_secs(5);

/// A server accepting on a loopback address. Stops when dropped.
#[derive(Debug)]
pub(crate) struct Loopback {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Loopback {
    /// Binds `addr` (loopback only) and serves `service` on every accepted connection.
    pub(crate) async fn start<S, B>(addr: SocketAddr, service: S) -> Result<Self>
    where
        S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        if !addr.ip().is_loopback() {
            return Err(Error::Bind {
                addr,
                source: std::io::Error::other("the stand-ins only listen on loopback"),
            });
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, service, rx));
        Ok(Self {
            addr: bound,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open requests finish for up to [`DRAIN`], then returns.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve<S, B>(listener: TcpListener, service: S, mut shutdown: oneshot::Receiver<()>)
where
    S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let http = ConnBuilder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(err) => {
                    tracing::warn!(%err, "accepting a connection failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Without it, small responses wait for Nagle's algorithm: half the throughput.
        let _ = socket.set_nodelay(true);
        let conn = graceful.watch(
            http.serve_connection(TokioIo::new(socket), service.clone())
                .into_owned(),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {}
    }
}
