//! moto's server (a CloudWatch Logs stand-in, installed into .venv by ./scripts/test), started on a free
//! loopback port for one test. Shared by the telemetry tests and the CLI's end-to-end tests.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// moto's server on a free loopback port; killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_moto() -> Moto {
    let bin = manifest_dir().join("../../.venv/bin/moto_server");
    assert!(
        bin.exists(),
        "{} is missing: ./scripts/test installs it",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Owned at once, so that the server is stopped (killed and waited for) whatever happens next.
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return moto;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("moto_server did not start");
}

/// This package's folder: the `CARGO_MANIFEST_DIR` that cargo and nextest set when they start the process,
/// which is right even for a binary built in another checkout sharing the target folder; else the compiled-in one.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), std::path::PathBuf::from)
}
