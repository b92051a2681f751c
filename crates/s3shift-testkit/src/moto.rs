//! moto's server, the CloudWatch Logs stand-in (installed into the test venv), on a free loopback port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// moto's server on a free loopback port; killed when dropped.
pub struct Moto {
    child: Child,
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's server and waits until it accepts connections (15 s at most).
pub fn start_moto() -> Moto {
    let bin = crate::repo::venv_bin("moto_server");
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
