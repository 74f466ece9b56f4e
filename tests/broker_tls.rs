//! TLS: a self-signed certificate for localhost / 127.0.0.1 made with rcgen, the server's TLS
//! listener beside its plain one, a rustls client trusting that certificate (PING, SUBSCRIBE and
//! PUBLISH over TLS, and across TLS and plain connections), `redis-cli --tls`, and the broker
//! refusing to start on a certificate file it cannot read.

mod broker;
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use broker::{cli, confirmation, message, run_bounded, show, Conn};
use common::{command, free_port, Server, Target};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A temporary directory with `cert.pem` and `key.pem`, removed on drop.
struct CertDir {
    dir: PathBuf,
    cert_der: CertificateDer<'static>,
}

impl CertDir {
    fn new(tag: &str) -> CertDir {
        let dir = std::env::temp_dir().join(format!("nanostream-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .expect("generate a certificate");
        std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), certified.key_pair.serialize_pem()).unwrap();
        CertDir {
            dir,
            cert_der: certified.cert.der().clone(),
        }
    }

    fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl Drop for CertDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// Starts `target` with a TLS listener on `tls_port` beside its plain one (used for readiness).
fn start(target: Target, certs: &CertDir, tls_port: u16) -> Server {
    let port = tls_port.to_string();
    match target {
        Target::Broker => Server::broker(&[
            "--tls-port",
            &port,
            "--tls-cert",
            path_str(&certs.cert()),
            "--tls-key",
            path_str(&certs.key()),
        ]),
        Target::Redis => Server::redis(&[
            "--tls-port",
            &port,
            "--tls-cert-file",
            path_str(&certs.cert()),
            "--tls-key-file",
            path_str(&certs.key()),
            "--tls-ca-cert-file",
            path_str(&certs.cert()),
            "--tls-auth-clients",
            "no",
        ]),
    }
}

/// A rustls client connection to 127.0.0.1:`port` trusting only `certs`, checked against `name`.
fn tls_connect(certs: &CertDir, port: u16, name: &str) -> Conn<StreamOwned<ClientConnection, TcpStream>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(certs.cert_der.clone())
        .expect("trust the test certificate");
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(name.to_string()).expect("a valid server name");
    let tls = ClientConnection::new(Arc::new(config), server_name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect to the TLS port");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    Conn::new(StreamOwned::new(tls, tcp))
}

fn ping_and_pubsub(target: Target) {
    let certs = CertDir::new(&format!("{target:?}"));
    let tls_port = free_port();
    let server = start(target, &certs, tls_port);

    let mut a = tls_connect(&certs, tls_port, "localhost");
    assert_eq!(show(&a.call_raw(&[b"PING"])), "+PONG\\r\\n");
    assert_eq!(a.call_raw(&[b"ECHO", b"over tls"]), b"$8\r\nover tls\r\n");
    // The certificate names the IP address, too.
    let mut b = tls_connect(&certs, tls_port, "127.0.0.1");
    assert_eq!(b.call_raw(&[b"PING"]), b"+PONG\r\n");

    // Subscriber over TLS; publishers over TLS and over plain TCP.
    assert_eq!(
        a.call_raw(&[b"SUBSCRIBE", b"secure"]),
        confirmation("subscribe", Some(b"secure"), 1)
    );
    assert_eq!(b.call_raw(&[b"PUBLISH", b"secure", b"from tls"]), b":1\r\n");
    let mut plain = Conn::open(&server);
    let big = vec![b'x'; 256 << 10]; // larger than one TLS record
    assert_eq!(plain.call_raw(&[b"PUBLISH", b"secure", &big]), b":1\r\n");
    assert_eq!(a.read_raw(), message(b"secure", b"from tls"));
    assert_eq!(a.read_raw(), message(b"secure", &big));

    // A plain subscriber receives what a TLS client publishes.
    assert_eq!(
        plain.call_raw(&[b"SUBSCRIBE", b"mixed"]),
        confirmation("subscribe", Some(b"mixed"), 1)
    );
    assert_eq!(b.call_raw(&[b"PUBLISH", b"mixed", b"tls to plain"]), b":1\r\n");
    assert_eq!(plain.read_raw(), message(b"mixed", b"tls to plain"));

    // QUIT over TLS: +OK, then the server closes.
    a.send(&command(&[b"QUIT"]));
    assert_eq!(show(&a.read_to_close()), "+OK\\r\\n");
}

fn plain_text_on_tls_port(target: Target) {
    let certs = CertDir::new(&format!("plain-{target:?}"));
    let tls_port = free_port();
    let _server = start(target, &certs, tls_port);
    let mut stream = TcpStream::connect(("127.0.0.1", tls_port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    stream.write_all(b"PING\r\n*1\r\n$4\r\nPING\r\n").unwrap();
    // Whether the server closes or waits for a handshake that never comes, it must not answer
    // RESP on its TLS port.
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    assert!(
        !got.windows(5).any(|w| w == b"+PONG"),
        "plain RESP answered on the TLS port: {}",
        show(&got)
    );
    // And a TLS client that does not trust the certificate fails its handshake.
    let other = CertDir::new(&format!("other-{target:?}"));
    let mut untrusting = tls_connect(&other, tls_port, "localhost");
    let result = untrusting
        .get_mut()
        .write_all(&command(&[b"PING"]))
        .and_then(|()| untrusting.get_mut().flush())
        .and_then(|()| untrusting.try_read_raw());
    match result {
        Err(e) => assert!(
            e.to_string().contains("invalid peer certificate"),
            "unexpected error: {e}"
        ),
        Ok(reply) => panic!(
            "a client trusting another certificate got a reply: {}",
            show(&reply)
        ),
    }
}

fn redis_cli_tls(target: Target) {
    let certs = CertDir::new(&format!("cli-{target:?}"));
    let tls_port = free_port();
    let _server = start(target, &certs, tls_port);
    let output = run_bounded(
        cli(tls_port).args(["--tls", "--cacert", path_str(&certs.cert()), "PING"]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "PONG\n",
        "redis-cli --tls (stderr: {})",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run_bounded(
        cli(tls_port).args(["--tls", "--cacert", path_str(&certs.cert()), "PUBLISH", "c", "m"]),
        None,
        Duration::from_secs(20),
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "0\n");
}

/// A child process killed on drop (for a server the `Server` helper cannot start: it waits on
/// the plain port).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `--port 0`: only the TLS listener, as in Redis.
fn tls_only(target: Target) {
    let certs = CertDir::new(&format!("only-{target:?}"));
    let tls_port = free_port().to_string();
    let (cert, key) = (
        path_str(&certs.cert()).to_string(),
        path_str(&certs.key()).to_string(),
    );
    let mut command = match target {
        Target::Broker => {
            let mut c = Command::new(common::broker_binary());
            c.args([
                "--port",
                "0",
                "--tls-port",
                &tls_port,
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
            ]);
            c.env_remove("NANOSTREAM_PORT")
                .env("NANOSTREAM_LOG_LEVEL", "warn");
            c
        }
        Target::Redis => {
            let mut c = Command::new(common::redis_binary());
            c.args([
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]);
            c.args([
                "--tls-port",
                &tls_port,
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
            ]);
            c.args(["--tls-ca-cert-file", &cert, "--tls-auth-clients", "no"]);
            c
        }
    };
    let mut child = Killed(command.stdout(Stdio::null()).spawn().expect("start the server"));
    let tls_port: u16 = tls_port.parse().unwrap();
    let mut served = None;
    let up = common::wait_for(common::START_DEADLINE, || {
        if TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            return matches!(child.0.try_wait(), Ok(Some(_))); // give up if it exited
        }
        let mut conn = tls_connect(&certs, tls_port, "localhost");
        served = Some(conn.call_raw(&[b"PING"]));
        true
    });
    assert!(
        up,
        "{target:?} did not listen on its TLS port within {:?}",
        common::START_DEADLINE
    );
    assert_eq!(child.0.try_wait().unwrap(), None, "{target:?} exited");
    assert_eq!(
        served.as_deref(),
        Some(&b"+PONG\r\n"[..]),
        "{target:?}: {:?}",
        served.as_deref().map(show)
    );
}

/// A certificate path that does not exist: the broker exits non-zero, saying which file.
#[test]
fn bad_cert_path_on_broker() {
    let certs = CertDir::new("bad-path");
    let missing = certs.dir.join("no-such-cert.pem");
    for (cert, key, named) in [
        (missing.clone(), certs.key(), missing.clone()),
        (
            certs.cert(),
            certs.dir.join("no-such-key.pem"),
            certs.dir.join("no-such-key.pem"),
        ),
    ] {
        let tls_port = free_port().to_string();
        let port = free_port().to_string();
        let mut broker = Command::new(common::broker_binary());
        broker
            .args(["--port", &port, "--tls-port", &tls_port])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("NANOSTREAM_LOG_LEVEL", "warn");
        let output = run_bounded(&mut broker, None, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "the broker started with {}",
            named.display()
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "expected one line on stderr, got:\n{stderr}"
        );
        assert!(
            stderr.contains(path_str(&named)),
            "stderr does not name {}: {stderr}",
            named.display()
        );
    }
}

#[test]
fn ping_and_pubsub_on_redis() {
    ping_and_pubsub(Target::Redis);
}

#[test]
fn ping_and_pubsub_on_broker() {
    ping_and_pubsub(Target::Broker);
}

#[test]
fn plain_text_on_tls_port_on_redis() {
    plain_text_on_tls_port(Target::Redis);
}

#[test]
fn plain_text_on_tls_port_on_broker() {
    plain_text_on_tls_port(Target::Broker);
}

#[test]
fn tls_only_on_redis() {
    tls_only(Target::Redis);
}

#[test]
fn tls_only_on_broker() {
    tls_only(Target::Broker);
}

#[test]
fn redis_cli_tls_on_redis() {
    redis_cli_tls(Target::Redis);
}

#[test]
fn redis_cli_tls_on_broker() {
    redis_cli_tls(Target::Broker);
}
