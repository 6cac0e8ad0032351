//! A crash after a `postgres` write and before `Complete`, against a target
//! that does not declare it honours keys: once the lease runs out the ledger
//! answers UNKNOWN, and the key row the write committed with settles it —
//! the effect happened, so the saga carries on without writing again.

use serde_json::json;
use sluice_core::State;
use sluice_core::workflow::AmbiguityPolicy;
use sluice_executor::Failpoint;

use crate::saga::{ACCOUNT, Env, STAGED};

#[tokio::test]
async fn a_crash_after_a_postgres_write_is_settled_by_its_key_row() -> anyhow::Result<()> {
    let env = Env::start_with(|options, spec| {
        options.failpoint = Some(Failpoint::StopAfterEffect);
        options.lease_ms = 1_000;
        for action in &mut spec.actions {
            action.on_ambiguous = AmbiguityPolicy::Probe;
        }
    })
    .await?;
    let envelope = env.submit("acc-1", "crash").await?;
    let journal = env.wait_state(&envelope, State::ActionCompleted).await?;
    let moves: Vec<&str> = journal.iter().filter_map(|j| j["to"].as_str()).collect();
    assert!(!moves.contains(&"NEEDS_REVIEW"), "{moves:?}");
    assert_eq!(env.scalar(STAGED).await?, json!(1), "staged once");
    assert_eq!(
        env.scalar(ACCOUNT).await?,
        json!({ "industry": "logistics", "employees": 250 })
    );
    let key = env.ledger.client.get_key("stage:acc-1:crash").await?;
    assert_eq!(key.state, "completed");
    env.stop().await
}
