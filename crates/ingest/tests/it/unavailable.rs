//! When the ledger or NATS cannot store an event, ingest answers 503 with
//! `Retry-After` and accepts nothing; it recovers when they come back.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sluice_bus::Bus;
use sluice_core::Subjects;
use sluice_core::subjects::StreamKind;
use sluice_testkit::{TestDb, TestLedger, eventually, eventually::check};

use crate::common::{self, Env, Running, SECRET};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn ledger_down_is_503_and_nothing_is_published() -> anyhow::Result<()> {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let env = Env::with(|o| o.ledger.url = closed).await?;
    let id = common::webhook_id();
    let response = env
        .service
        .post(&id, &common::payload("wamid.l"), SECRET)
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "7");
    let error: serde_json::Value = response.json().await?;
    assert_eq!(error["error"], "unavailable");
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    assert!(!env.recorded(&id).await);
    env.finish().await
}

/// A private nats-server on its own port and store, for killing.
struct PrivateNats {
    port: u16,
    child: Child,
}

impl PrivateNats {
    fn binary() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.dev/venv/bin/nats-server")
    }

    async fn start(port: u16, store: &Path) -> anyhow::Result<Self> {
        let child = Command::new(Self::binary())
            .args(["-js", "-sd"])
            .arg(store)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Self { port, child };
        eventually(
            "private nats-server up",
            Duration::from_secs(10),
            || async { Ok(tokio::net::TcpStream::connect(("127.0.0.1", port)).await?) },
        )
        .await?;
        Ok(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn nats_down_is_503_then_recovers() -> anyhow::Result<()> {
    let store =
        std::env::temp_dir().join(format!("sluice-ingest-{}", sluice_testkit::unique_token()));
    let mut nats = PrivateNats::start(free_port(), &store).await?;
    let subjects = Subjects::new(sluice_testkit::unique_token())?;
    let client = async_nats::connect(nats.url()).await?;
    Bus::new(client.clone(), subjects.clone())
        .provision(&common::topology())
        .await?;
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let options = common::options(
        &nats.url(),
        subjects.prefix(),
        &format!("http://{}", ledger.addr),
    );
    let service = Running::start(options).await?;

    nats.kill();
    let id = common::webhook_id();
    let body = common::payload("wamid.n");
    let refused = eventually(
        "503 while NATS is down",
        Duration::from_secs(10),
        || async {
            let response = service.post(&id, &body, SECRET).await;
            check(response.status() == 503, || {
                format!("{}", response.status())
            })?;
            Ok(response)
        },
    )
    .await?;
    assert_eq!(refused.headers()["retry-after"], "7");
    let execution = sluice_core::ExecutionId::derive(common::SOURCE, &id, common::WORKFLOW);
    assert!(
        ledger.client.get_execution(execution).await.is_err(),
        "recorded while NATS was down"
    );

    let _nats = PrivateNats::start(nats.port, &store).await?;
    eventually("202 once NATS is back", Duration::from_secs(30), || async {
        let response = service.post(&id, &body, SECRET).await;
        check(response.status() == 202, || {
            format!("{}", response.status())
        })
    })
    .await?;
    let js = async_nats::jetstream::new(client);
    let stored = common::stream_count(&js, &subjects.stream(StreamKind::Pipeline)).await?;
    assert_eq!(stored, 1);
    let (row, _) = ledger.client.get_execution(execution).await?;
    assert_eq!(row.state, "VALIDATED");
    service.stop().await?;
    drop(_nats);
    std::fs::remove_dir_all(&store).ok();
    Ok(())
}
