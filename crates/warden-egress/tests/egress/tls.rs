//! Outbound TLS is always verified: a server whose certificate chains to
//! the configured bundle is reached; an unknown issuer, a name mismatch, or
//! the platform roots for a private CA are refused.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warden_egress::{Egress, EgressPolicy, Outbound, PortRange};
use warden_test_support::pki::Pki;

/// An HTTPS server on 127.0.0.2 answering `ok` to anything.
async fn https_server(ca: &Pki, name: &str) -> u16 {
    let leaf = ca.server_for(&[name], 1);
    let cert = CertificateDer::from(leaf.der);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.2:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn egress(port: u16, ca_file: Option<std::path::PathBuf>) -> Egress {
    Egress::new(EgressPolicy {
        allowed_ports: vec![PortRange::single(port).expect("port")],
        allow_cidrs: vec!["127.0.0.2/32".into()],
        resolve: [
            (
                "agent.tls.test".to_string(),
                vec!["127.0.0.2".parse().expect("ip")],
            ),
            (
                "other.tls.test".to_string(),
                vec!["127.0.0.2".parse().expect("ip")],
            ),
        ]
        .into(),
        ca_file,
        ..EgressPolicy::default()
    })
    .expect("egress")
}

fn bundle(dir: &tempfile::TempDir, ca: &Pki) -> std::path::PathBuf {
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &ca.ca_pem).expect("write");
    path
}

#[tokio::test]
async fn tls_is_verified_against_the_configured_bundle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = Pki::new("partner CA");
    let port = https_server(&ca, "agent.tls.test").await;

    let trusted = egress(port, Some(bundle(&dir, &ca)));
    let r = trusted
        .send(Outbound::get(
            format!("https://agent.tls.test:{port}/"),
            "test",
        ))
        .await
        .expect("trusted");
    assert_eq!(&r.bytes().await.expect("body")[..], b"ok");

    // The certificate names agent.tls.test, not other.tls.test.
    let err = trusted
        .send(Outbound::get(
            format!("https://other.tls.test:{port}/"),
            "test",
        ))
        .await
        .expect_err("name mismatch");
    assert_eq!(err.reason(), "transport", "{err}");

    // The platform roots do not know the partner CA.
    let platform = egress(port, None);
    let err = platform
        .send(Outbound::get(
            format!("https://agent.tls.test:{port}/"),
            "test",
        ))
        .await
        .expect_err("unknown issuer");
    assert_eq!(err.reason(), "transport", "{err}");

    // Nor does another bundle.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = egress(port, Some(bundle(&other_dir, &Pki::new("someone else"))));
    assert!(
        other
            .send(Outbound::get(
                format!("https://agent.tls.test:{port}/"),
                "test"
            ))
            .await
            .is_err()
    );
}

#[test]
fn a_bad_bundle_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.pem");
    std::fs::write(&path, "not a certificate").expect("write");
    let err = Egress::new(EgressPolicy {
        ca_file: Some(path),
        ..EgressPolicy::default()
    })
    .expect_err("bad bundle");
    assert!(err.to_string().contains("ca_file"), "{err}");
    assert!(
        Egress::new(EgressPolicy {
            ca_file: Some(dir.path().join("missing.pem")),
            ..EgressPolicy::default()
        })
        .is_err()
    );
}
