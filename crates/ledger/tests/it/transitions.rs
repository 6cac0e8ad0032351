//! Execution state: compare-and-set transitions and the journal.

use serde_json::json;
use sluice_core::{ExecutionId, State};
use sluice_ledger::convert::pb;
use sluice_ledger::{ExecutionFilter, LedgerClient, Origin, Repeat, Transition};
use sluice_testkit::{TestDb, TestLedger};
use tonic::Code;

use crate::code;

fn create(id: ExecutionId, workflow: &str) -> Transition {
    Transition {
        execution_id: id,
        from: None,
        to: State::Received,
        stage: "ingest".into(),
        generation: "0".into(),
        detail: Some(json!({"bytes": 312})),
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: workflow.into(),
            source: "whatsapp".into(),
            event_id: format!("evt-{}", id.as_uuid().simple()),
            correlation_id: "corr-1".into(),
        },
    }
}

fn step(id: ExecutionId, from: State, to: State) -> Transition {
    Transition {
        from: Some(from),
        to,
        stage: "interpret".into(),
        detail: None,
        ..create(id, "reservation")
    }
}

async fn new_execution(c: &LedgerClient, workflow: &str) -> anyhow::Result<ExecutionId> {
    let id = ExecutionId::derive("whatsapp", &uuid::Uuid::new_v4().to_string(), workflow);
    assert!(c.record_transition(&create(id, workflow)).await?.applied);
    Ok(id)
}

#[tokio::test]
async fn transitions_are_journalled_once_each() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let id = new_execution(c, "reservation").await?;
    // A second creation (a late duplicate) changes nothing.
    assert!(
        !c.record_transition(&create(id, "reservation"))
            .await?
            .applied
    );

    let moved = c
        .record_transition(&step(id, State::Received, State::Validated))
        .await?;
    assert!(moved.applied);
    assert_eq!(moved.seq, Some(2));
    // A redelivery of the same move is a no-op.
    let again = c
        .record_transition(&step(id, State::Received, State::Validated))
        .await?;
    assert!(!again.applied);
    assert_eq!(again.state, State::Validated);

    let (execution, journal) = c.get_execution(id).await?;
    assert_eq!(execution.state, "VALIDATED");
    assert_eq!(execution.workflow, "reservation");
    assert_eq!(execution.correlation_id, "corr-1");
    let moves: Vec<_> = journal
        .iter()
        .map(|e| {
            (
                e.seq,
                e.from_state.clone(),
                e.to_state.clone(),
                e.actor.clone(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            (1, None, "RECEIVED".into(), "dev".into()),
            (2, Some("RECEIVED".into()), "VALIDATED".into(), "dev".into()),
        ]
    );
    assert_eq!(journal[0].detail, Some(json!({"bytes": 312})));
    Ok(())
}

#[tokio::test]
async fn illegal_transitions_are_failed_preconditions() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let id = new_execution(c, "reservation").await?;

    // Not an edge of the state machine.
    let err = c
        .record_transition(&step(id, State::Received, State::Executing))
        .await
        .err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    // A legal edge from a state the execution is not in.
    let err = c
        .record_transition(&step(id, State::GateDecided, State::Closed))
        .await
        .err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    // Creation only into RECEIVED.
    let bad = Transition {
        to: State::Validated,
        ..create(id, "reservation")
    };
    let err = c.record_transition(&bad).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    // Unknown execution.
    let other = ExecutionId::derive("x", "y", "z");
    let err = c
        .record_transition(&step(other, State::Received, State::Validated))
        .await
        .err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::NotFound));

    let (_, journal) = c.get_execution(id).await?;
    assert_eq!(journal.len(), 1, "refused moves leave no journal rows");

    // A state name the ledger does not know is an invalid argument.
    let mut raw =
        pb::ledger_client::LedgerClient::connect(format!("http://{}", ledger.addr)).await?;
    let req = pb::RecordTransitionRequest {
        execution_id: id.as_uuid().to_string(),
        from_state: "RECEIVED".into(),
        to_state: "TELEPORTED".into(),
        ..Default::default()
    };
    let status = raw.record_transition(req).await.err();
    assert_eq!(status.map(|s| s.code()), Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn retries_are_counted() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let id = new_execution(c, "reservation").await?;
    c.record_transition(&step(id, State::Received, State::FailedRetryable))
        .await?;
    c.record_transition(&step(id, State::FailedRetryable, State::Retried))
        .await?;
    c.record_transition(&step(id, State::Retried, State::Received))
        .await?;
    let (execution, journal) = c.get_execution(id).await?;
    assert_eq!((execution.retry_count, journal.len()), (1, 4));
    Ok(())
}

#[tokio::test]
async fn executions_are_listed_by_filter_and_page() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let mut reservations = Vec::new();
    for _ in 0..5 {
        reservations.push(new_execution(c, "reservation").await?);
    }
    new_execution(c, "refund").await?;
    c.record_transition(&step(reservations[0], State::Received, State::Validated))
        .await?;

    let mut seen = Vec::new();
    let mut filter = ExecutionFilter {
        workflow: Some("reservation".into()),
        limit: 2,
        ..Default::default()
    };
    loop {
        let page = c.list_executions(&filter).await?;
        seen.extend(page.executions.iter().map(|e| e.execution_id));
        if page.next_page_token.is_empty() {
            break;
        }
        filter.page_token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5);
    let mut expected: Vec<_> = reservations.iter().map(|id| *id.as_uuid()).collect();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, every row once");

    let validated = ExecutionFilter {
        state: Some(State::Validated),
        ..Default::default()
    };
    let page = c.list_executions(&validated).await?;
    assert_eq!(page.executions.len(), 1);
    assert_eq!(page.executions[0].execution_id, *reservations[0].as_uuid());
    Ok(())
}

#[tokio::test]
async fn a_path_is_recorded_whole_or_not_at_all() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let id = new_execution(c, "reservation").await?;
    let path = [
        step(id, State::Received, State::Validated),
        step(id, State::Validated, State::ModelRequested),
    ];
    let last = c.record_path(&path, Repeat::Answer).await?;
    assert!(last.applied);
    assert_eq!(last.state, State::ModelRequested);
    let (execution, journal) = c.get_execution(id).await?;
    assert_eq!(execution.state, "MODEL_REQUESTED");
    assert_eq!(journal.len(), 3, "one journal row per applied step");

    // Again (a redelivery): the first step is refused, so nothing is written.
    let err = c.record_path(&path, Repeat::Answer).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    // A path whose first step is already done continues from there.
    let on = [
        step(id, State::Validated, State::ModelRequested),
        step(id, State::ModelRequested, State::ModelCompleted),
    ];
    // ...unless the caller asked for every move to be its own: then the
    // step already done is a refusal and nothing is written.
    let further = [
        step(id, State::Validated, State::ModelRequested),
        step(id, State::ModelRequested, State::ModelCompleted),
    ];
    let err = c.record_path(&further, Repeat::Refuse).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    assert_eq!(c.get_execution(id).await?.0.state, "MODEL_REQUESTED");
    assert!(c.record_path(&on, Repeat::Answer).await?.applied);

    // A refused later step rolls back the earlier ones.
    let broken = [
        step(id, State::ModelCompleted, State::OutputValidated),
        step(id, State::OutputValidated, State::Completed),
    ];
    let err = c.record_path(&broken, Repeat::Answer).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    let (execution, journal) = c.get_execution(id).await?;
    assert_eq!(execution.state, "MODEL_COMPLETED");
    assert_eq!(journal.len(), 4);

    // Every step moves the same execution.
    let other = new_execution(c, "reservation").await?;
    let mixed = [
        step(id, State::ModelCompleted, State::OutputValidated),
        step(other, State::Received, State::Validated),
    ];
    let err = c.record_path(&mixed, Repeat::Answer).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn a_completion_records_the_moves_it_carries() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let id = new_execution(c, "reservation").await?;
    let mut req = crate::claim("notify-1", "notifier");
    req.execution_id = Some(id);
    let token = crate::started(&c.begin(&req).await?)?;
    let path = [
        step(id, State::Received, State::Validated),
        step(id, State::Validated, State::ModelRequested),
    ];
    // Moves of two executions are refused before anything is written.
    let other = new_execution(c, "reservation").await?;
    let mixed = [
        step(id, State::Received, State::Validated),
        step(other, State::Validated, State::ModelRequested),
    ];
    let err = c
        .complete_and_record("notify-1", token, None, &mixed)
        .await
        .err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    assert_eq!(c.get_key("notify-1").await?.state, "in_progress");

    assert!(
        c.complete_and_record("notify-1", token, None, &path)
            .await?
    );
    assert_eq!(c.get_key("notify-1").await?.state, "completed");
    let (execution, journal) = c.get_execution(id).await?;
    assert_eq!(execution.state, "MODEL_REQUESTED");
    assert_eq!(journal.len(), 3);
    // A retried completion stands and moves nothing again.
    assert!(
        !c.complete_and_record("notify-1", token, None, &path)
            .await?
    );
    assert_eq!(c.get_execution(id).await?.1.len(), 3);
    Ok(())
}
