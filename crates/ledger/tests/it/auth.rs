//! Authentication and per-RPC roles.

use sluice_core::{ExecutionId, State};
use sluice_ledger::{LedgerClient, Origin, TokenTable, Transition};
use sluice_testkit::{TestDb, TestLedger};
use tonic::Code;

use crate::{claim, code};

const SERVICE: &str = "service-token-0123456789";
const REVIEWER: &str = "reviewer-token-0123456789";

async fn secured(db: &TestDb) -> anyhow::Result<TestLedger> {
    let tokens: TokenTable =
        format!("{SERVICE}=service:executor,{REVIEWER}=reviewer:alice").parse()?;
    TestLedger::start_with(db, tokens, Some(SERVICE)).await
}

async fn begin_code(client: &LedgerClient) -> Option<Code> {
    client
        .begin(&claim("k", "a"))
        .await
        .err()
        .as_ref()
        .and_then(code)
}

#[tokio::test]
async fn missing_or_invalid_tokens_are_unauthenticated() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    assert_eq!(
        begin_code(&ledger.client(None)?).await,
        Some(Code::Unauthenticated)
    );
    let wrong = ledger.client(Some("not-a-token-at-all-000"))?;
    assert_eq!(begin_code(&wrong).await, Some(Code::Unauthenticated));
    Ok(())
}

#[tokio::test]
async fn wrong_role_is_permission_denied() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    assert_eq!(
        begin_code(&ledger.client(Some(REVIEWER))?).await,
        Some(Code::PermissionDenied)
    );
    Ok(())
}

#[tokio::test]
async fn the_journal_records_the_authenticated_caller() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    assert_eq!(begin_code(&ledger.client).await, None);
    let id = ExecutionId::derive("s", "e", "w");
    let create = Transition {
        execution_id: id,
        from: None,
        to: State::Received,
        stage: String::new(),
        generation: String::new(),
        detail: None,
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "w".into(),
            source: "s".into(),
            event_id: "e".into(),
            correlation_id: "c".into(),
        },
    };
    ledger.client.record_transition(&create).await?;
    let (_, journal) = ledger.client.get_execution(id).await?;
    assert_eq!(journal[0].actor, "executor");
    Ok(())
}

#[tokio::test]
async fn health_is_served_without_credentials() -> anyhow::Result<()> {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", ledger.addr))?
        .connect()
        .await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let service = "sluice.ledger.v1.Ledger".to_owned();
    let status = health
        .check(HealthCheckRequest { service })
        .await?
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    Ok(())
}
