//! The accept loop against real sockets: plain HTTP, TLS, mTLS, reload,
//! handshake timeout, protocol versions, shutdown.
#![allow(clippy::disallowed_methods)] // test clients calling the listener, not Warden going out

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::config::{ClientAuth, TlsConfig};

/// A test CA and what it signs.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let pem = params.self_signed(&key).expect("ca").pem();
        Self { params, key, pem }
    }

    fn leaf(&self, names: &[&str], uri: Option<&str>, serial: u64, client: bool) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        if let Some(u) = uri {
            params
                .subject_alt_names
                .push(SanType::URI(u.try_into().expect("uri")));
        }
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.serial_number = Some(serial.into());
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().expect("key");
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        // Replace atomically, as deployment tools do.
        let tmp = self.dir.path().join(format!("{name}.tmp"));
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, &p).expect("rename");
        p
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn tls_config(files: &Files, client_auth: ClientAuth) -> TlsConfig {
    TlsConfig {
        cert_file: files.path("server.pem"),
        key_file: files.path("server.key"),
        client_ca_files: if client_auth == ClientAuth::Off {
            Vec::new()
        } else {
            vec![files.path("ca.pem")]
        },
        client_auth,
        handshake_timeout: Duration::from_secs(10),
        reload_interval: Duration::ZERO,
    }
}

/// Writes a CA and a server certificate for 127.0.0.1 / localhost.
fn server_files(ca: &Ca, serial: u64) -> Files {
    let files = Files::new();
    write_server(&files, ca, serial);
    files.write("ca.pem", &ca.pem);
    files
}

fn write_server(files: &Files, ca: &Ca, serial: u64) -> Leaf {
    let leaf = ca.leaf(&["127.0.0.1", "localhost"], None, serial, false);
    files.write("server.key", &leaf.key_pem);
    files.write("server.pem", &leaf.cert_pem);
    leaf
}

/// Answers who the connection is: the TCP peer and the certificate.
fn app() -> Router {
    Router::new().route(
        "/who",
        get(
            |ConnectInfo(peer): ConnectInfo<SocketAddr>, req: axum::extract::Request| async move {
                let cert = req.extensions().get::<Arc<PeerCertificate>>();
                format!(
                    "{} {} {} {}",
                    peer.ip(),
                    cert.map_or("-", |c| c.identity.x5t_s256.as_str()),
                    cert.and_then(|c| c.identity.spiffe_id()).unwrap_or("-"),
                    cert.map_or("-".to_string(), |c| c.identity.dns_names.join(",")),
                )
            },
        ),
    )
}

struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(tls: Option<Arc<Reloadable>>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, tls, app(), async move {
        let _ = rx.await;
    }));
    Server {
        addr,
        stop: Some(tx),
        task,
    }
}

fn client(ca: &Ca, identity: Option<&Leaf>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .tls_info(true)
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).expect("ca")]);
    if let Some(leaf) = identity {
        let pem = format!("{}{}", leaf.cert_pem, leaf.key_pem);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    b.build().expect("client")
}

/// The body and the server certificate the response came over.
async fn who(c: &reqwest::Client, url: &str) -> Result<(String, Vec<u8>, http::Version), String> {
    let r = c.get(url).send().await.map_err(|e| format!("{e:?}"))?;
    let version = r.version();
    let cert = r
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let body = r.text().await.map_err(|e| e.to_string())?;
    Ok((body, cert, version))
}

#[tokio::test]
async fn plain_http_carries_connect_info_and_no_certificate() {
    let s = start(None).await;
    let body = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{}/who", s.addr))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert_eq!(body, "127.0.0.1 - - -");
}

#[tokio::test]
async fn tls_serves_h2_and_http1_with_the_configured_certificate() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let tls = Reloadable::load(&tls_config(&files, ClientAuth::Off)).expect("load");
    let s = start(Some(tls)).await;
    let url = format!("https://127.0.0.1:{}/who", s.addr.port());
    let (body, _, version) = who(&client(&ca, None), &url).await.expect("https");
    assert_eq!(body, "127.0.0.1 - - -");
    assert_eq!(version, http::Version::HTTP_2, "ALPN picks h2");
    let h1 = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).expect("ca")])
        .build()
        .expect("client");
    let r = h1.get(&url).send().await.expect("http/1.1");
    assert_eq!(r.version(), http::Version::HTTP_11);
    // A client that does not trust the CA fails.
    let other = Ca::new("other CA");
    assert!(who(&client(&other, None), &url).await.is_err());
}

#[tokio::test]
async fn mtls_required_refuses_without_a_certificate_and_names_the_peer() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let tls = Reloadable::load(&tls_config(&files, ClientAuth::Required)).expect("load");
    let s = start(Some(tls)).await;
    let url = format!("https://127.0.0.1:{}/who", s.addr.port());
    let err = who(&client(&ca, None), &url).await.expect_err("no cert");
    assert!(!err.is_empty());
    let alice = ca.leaf(
        &["alice.example"],
        Some("spiffe://example.org/sa/alice"),
        10,
        true,
    );
    let (body, _, _) = who(&client(&ca, Some(&alice)), &url)
        .await
        .expect("with a cert");
    assert_eq!(
        body,
        format!(
            "127.0.0.1 {} spiffe://example.org/sa/alice alice.example",
            x5t_s256(&alice.der)
        )
    );
    // A certificate from another CA is refused.
    let other = Ca::new("other CA");
    let mallory = other.leaf(&["alice.example"], None, 10, true);
    assert!(who(&client(&ca, Some(&mallory)), &url).await.is_err());
}

#[tokio::test]
async fn mtls_optional_accepts_both() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let tls = Reloadable::load(&tls_config(&files, ClientAuth::Optional)).expect("load");
    let s = start(Some(tls)).await;
    let url = format!("https://127.0.0.1:{}/who", s.addr.port());
    let (body, _, _) = who(&client(&ca, None), &url).await.expect("anonymous");
    assert_eq!(body, "127.0.0.1 - - -");
    let bob = ca.leaf(&["bob.example"], None, 11, true);
    let (body, _, _) = who(&client(&ca, Some(&bob)), &url).await.expect("bob");
    assert!(body.starts_with(&format!("127.0.0.1 {} - bob.example", x5t_s256(&bob.der))));
    // Optional still means verified: a stranger's certificate is refused.
    let other = Ca::new("other CA");
    let eve = other.leaf(&["eve.example"], None, 12, true);
    assert!(who(&client(&ca, Some(&eve)), &url).await.is_err());
}

#[tokio::test]
async fn reload_serves_new_connections_the_new_certificate_and_keeps_old_ones() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let old = std::fs::read(files.path("server.pem")).expect("read");
    let mut config = tls_config(&files, ClientAuth::Off);
    config.reload_interval = Duration::from_millis(100);
    let tls = Reloadable::load(&config).expect("load");
    let s = start(Some(tls.clone())).await;
    let url = format!("https://127.0.0.1:{}/who", s.addr.port());
    let first = client(&ca, None);
    let (_, cert1, _) = who(&first, &url).await.expect("first");
    assert!(!cert1.is_empty());

    let new = write_server(&files, &ca, 2);
    assert_ne!(old, std::fs::read(files.path("server.pem")).expect("read"));
    // The poller picks the change up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, cert, _) = who(&client(&ca, None), &url).await.expect("fresh");
        if cert == new.der {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The open connection still works, on the certificate it started with.
    let (_, again, _) = who(&first, &url).await.expect("old connection");
    assert_eq!(again, cert1);

    // A broken file is refused; the current certificate stays.
    let before = tls.current();
    files.write("server.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
    assert!(tls.reload().is_err());
    assert!(Arc::ptr_eq(&before, &tls.current()));
    // A key that does not fit the certificate is refused too.
    let stray = ca.leaf(&["127.0.0.1"], None, 3, false);
    files.write("server.pem", &new.cert_pem);
    files.write("server.key", &stray.key_pem);
    let err = tls.reload().expect_err("mismatched key");
    assert!(err.to_string().contains("server.key"), "{err}");
    assert!(Arc::ptr_eq(&before, &tls.current()));
    let (_, cert, _) = who(&client(&ca, None), &url).await.expect("still served");
    assert_eq!(cert, new.der);
}

#[tokio::test]
async fn load_errors_name_the_file() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let mut c = tls_config(&files, ClientAuth::Off);
    c.key_file = files.path("missing.key");
    let err = Reloadable::load(&c).expect_err("missing");
    assert!(err.to_string().contains("missing.key"), "{err}");
    let mut c = tls_config(&files, ClientAuth::Required);
    c.client_ca_files = vec![files.write("empty.pem", "")];
    let err = Reloadable::load(&c).expect_err("no CA");
    assert!(err.to_string().contains("empty.pem"), "{err}");
}

/// A ClientHello of `version` (no `supported_versions` extension), with a
/// suite, groups and signature algorithm the server can use.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut body = version.to_vec();
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x02, 0xc0, 0x2b]); // ECDHE_ECDSA_AES_128_GCM_SHA256
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let ext: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // point formats
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, // ecdsa_secp256r1_sha256
    ];
    body.extend_from_slice(&u16::try_from(ext.len()).expect("len").to_be_bytes());
    body.extend_from_slice(ext);
    let mut hs = vec![0x01, 0x00];
    hs.extend_from_slice(&u16::try_from(body.len()).expect("len").to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&u16::try_from(hs.len()).expect("len").to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// The first 7 bytes the server answers a ClientHello with.
async fn answer_to(addr: SocketAddr, hello: &[u8]) -> Vec<u8> {
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    sock.write_all(hello).await.expect("hello");
    let mut answer = vec![0u8; 7];
    tokio::time::timeout(Duration::from_secs(10), sock.read_exact(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    answer
}

#[tokio::test]
async fn tls_1_1_is_refused_and_only_1_2_and_1_3_are_configured() {
    assert_eq!(PROTOCOL_VERSIONS.len(), 2);
    assert!(PROTOCOL_VERSIONS.iter().all(|v| matches!(
        v.version,
        rustls::ProtocolVersion::TLSv1_2 | rustls::ProtocolVersion::TLSv1_3
    )));
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let tls = Reloadable::load(&tls_config(&files, ClientAuth::Off)).expect("load");
    assert_eq!(tls.current().alpn_protocols, alpn_protocols());
    let s = start(Some(tls)).await;
    // Control: the same hello as TLS 1.2 gets a ServerHello (handshake
    // record, type 2).
    let answer = answer_to(s.addr, &client_hello([3, 3])).await;
    assert_eq!((answer[0], answer[5]), (22, 2), "{answer:?}");
    // As TLS 1.1 (and 1.0): a fatal protocol_version alert (21; 2, 70).
    for version in [[3, 2], [3, 1]] {
        let answer = answer_to(s.addr, &client_hello(version)).await;
        assert_eq!(answer[0], 21, "{answer:?}");
        assert_eq!(&answer[5..7], &[2, 70], "{answer:?}");
    }
}

#[tokio::test]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let ca = Ca::new("test CA");
    let files = server_files(&ca, 1);
    let mut c = tls_config(&files, ClientAuth::Off);
    c.handshake_timeout = Duration::from_millis(200);
    let s = start(Some(Reloadable::load(&c).expect("load"))).await;
    let mut sock = TcpStream::connect(s.addr).await.expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.read(&mut buf))
        .await
        .expect("closed before the test's own timeout");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_open_requests_finish() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let slow = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            "done"
        }),
    );
    let task = tokio::spawn(serve(listener, None, slow, async move {
        let _ = rx.await;
    }));
    let c = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let pending = tokio::spawn({
        let c = c.clone();
        async move {
            c.get(format!("http://{addr}/slow"))
                .send()
                .await?
                .text()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    tx.send(()).expect("stop");
    assert_eq!(pending.await.expect("join").expect("finished"), "done");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("serve returned")
        .expect("join")
        .expect("ok");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[test]
fn the_provider_is_aws_lc_rs() {
    let p = provider();
    assert!(!p.cipher_suites.is_empty());
    assert!(p.cipher_suites.iter().all(|s| {
        let name = format!("{:?}", s.suite());
        name.starts_with("TLS13_") || name.starts_with("TLS_ECDHE_")
    }));
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.task.abort();
    }
}
