//! Mutual TLS: a client certificate is an identity with the `service` role.

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use sluice_core::{ExecutionId, State};
use sluice_ledger::{
    ClientOptions, Ledger, LedgerClient, LedgerOptions, LedgerTlsOptions, Options, Origin,
    TlsOptions, Transition,
};
use sluice_testkit::TestDb;
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::code;

/// A CA, a server certificate for `localhost` and a client certificate for
/// `executor.sluice.internal`, written as PEM files under a fresh folder.
struct Pki {
    dir: PathBuf,
    ca: String,
    client_cert: String,
    client_key: String,
}

impl Pki {
    fn generate() -> anyhow::Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let server_key = KeyPair::generate()?;
        let server =
            CertificateParams::new(vec!["localhost".to_owned()])?.signed_by(&server_key, &ca)?;
        let client_key = KeyPair::generate()?;
        let client = CertificateParams::new(vec!["executor.sluice.internal".to_owned()])?
            .signed_by(&client_key, &ca)?;

        let dir =
            std::env::temp_dir().join(format!("sluice-mtls-{}", sluice_testkit::unique_token()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("ca.pem"), ca.pem())?;
        std::fs::write(dir.join("server.pem"), server.pem())?;
        std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
        std::fs::write(dir.join("client.pem"), client.pem())?;
        std::fs::write(dir.join("client.key"), client_key.serialize_pem())?;
        Ok(Self {
            dir,
            ca: ca.pem(),
            client_cert: client.pem(),
            client_key: client_key.serialize_pem(),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn client(
    addr: std::net::SocketAddr,
    pki: &Pki,
    with_certificate: bool,
) -> anyhow::Result<LedgerClient> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    if with_certificate {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    let mut options = ClientOptions::new(format!("https://{addr}"));
    options.tls = Some(tls);
    options.max_retries = 0;
    Ok(LedgerClient::connect(options)?)
}

fn create(id: ExecutionId) -> Transition {
    Transition {
        execution_id: id,
        from: None,
        to: State::Received,
        stage: "ingest".into(),
        generation: "0".into(),
        detail: None,
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "w".into(),
            source: "s".into(),
            event_id: "e".into(),
            correlation_id: "c".into(),
        },
    }
}

/// Starts a ledger that requires TLS and trusts client certificates of the
/// test CA; returns its address and a handle that stops it.
async fn start_mtls_ledger(
    pki: &Pki,
    db: &TestDb,
) -> anyhow::Result<(
    std::net::SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<sluice_ledger::Result<()>>,
)> {
    let mut options = Options::new(db.url.clone());
    options.migrate_on_start = true;
    options.tls = Some(TlsOptions {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        client_ca: Some(pki.path("ca.pem")),
    });
    let listener = sluice_ledger::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(
        Ledger::new(options)
            .await?
            .serve(listener, shutdown.clone()),
    );
    Ok((addr, shutdown, server))
}

#[tokio::test]
async fn a_client_certificate_is_the_callers_identity() -> anyhow::Result<()> {
    let pki = Pki::generate()?;
    let db = TestDb::new().await?;
    let (addr, shutdown, server) = start_mtls_ledger(&pki, &db).await?;

    // Without a certificate (and without a token) the caller is nobody.
    let anonymous = client(addr, &pki, false)?;
    let refused = anonymous
        .record_transition(&create(ExecutionId::derive("s", "x", "w")))
        .await;
    assert_eq!(
        refused.err().as_ref().and_then(code),
        Some(Code::Unauthenticated)
    );

    // With one, the journal names the certificate's subject.
    let executor = client(addr, &pki, true)?;
    let id = ExecutionId::derive("s", "e", "w");
    executor.record_transition(&create(id)).await?;
    let (_, journal) = executor.get_execution(id).await?;
    assert_eq!(journal[0].actor, "executor.sluice.internal");

    shutdown.cancel();
    server.await??;
    Ok(())
}

#[tokio::test]
async fn a_service_configured_with_a_certificate_presents_it() -> anyhow::Result<()> {
    let pki = Pki::generate()?;
    let db = TestDb::new().await?;
    let (addr, shutdown, server) = start_mtls_ledger(&pki, &db).await?;

    // The `[ledger]` table every service reads, as the manifests set it
    // through SLUICE_LEDGER__TLS__*.
    let configured = |with_certificate: bool| LedgerOptions {
        url: format!("https://localhost:{}", addr.port()),
        max_retries: Some(0),
        tls: LedgerTlsOptions {
            ca_file: Some(pki.path("ca.pem")),
            cert_file: with_certificate.then(|| pki.path("client.pem")),
            key_file: with_certificate.then(|| pki.path("client.key")),
            domain: None,
        },
        ..LedgerOptions::default()
    };
    let id = ExecutionId::derive("s", "configured", "w");
    let anonymous = configured(false).connect()?;
    let refused = anonymous.record_transition(&create(id)).await;
    assert_eq!(
        refused.err().as_ref().and_then(code),
        Some(Code::Unauthenticated)
    );
    let service = configured(true).connect()?;
    service.record_transition(&create(id)).await?;
    let (_, journal) = service.get_execution(id).await?;
    assert_eq!(journal[0].actor, "executor.sluice.internal");

    let unreadable = LedgerOptions {
        tls: LedgerTlsOptions {
            ca_file: Some(pki.path("missing.pem")),
            ..LedgerTlsOptions::default()
        },
        ..LedgerOptions::default()
    };
    let err = unreadable.connect().err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("missing.pem")),
        "{err:?}"
    );

    shutdown.cancel();
    server.await??;
    Ok(())
}
