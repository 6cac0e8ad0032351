//! Erasure: the personal payload leaves every table, the skeleton (states,
//! journal moves, key names, audit rows) stays; only SREs and admins may
//! erase, a second erasure changes nothing, and an erased dead letter is
//! never replayed.

use serde_json::{Value, json};
use sluice_core::{ExecutionId, State};
use sluice_ledger::{
    BeginReplay, LedgerClient, NewReviewItem, Origin, ReviewKind, StreamMessage, Transition,
};
use sluice_testkit::TestDb;
use tonic::Code;

use crate::ops::{ADMIN, REVIEWER, SERVICE, SRE, dead_letter, secured};
use crate::{claim, code, started};

const NAME: &str = "Ana Lopez";
const PHONE: &str = "+34600111222";

fn step(id: ExecutionId, from: Option<State>, to: State, detail: Value) -> Transition {
    Transition {
        execution_id: id,
        from,
        to,
        stage: "interpret".into(),
        generation: "0".into(),
        detail: Some(detail),
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "reservation".into(),
            source: "whatsapp".into(),
            event_id: "wamid.erase".into(),
            correlation_id: "corr-erase".into(),
        },
    }
}

/// An execution that stopped for review with the guest's name and phone in
/// its journal, review item, interpretation key and dead letter.
async fn personal_execution(service: &LedgerClient) -> anyhow::Result<(ExecutionId, i64)> {
    let mut dl = dead_letter(11);
    let id = dl
        .execution_id
        .unwrap_or_else(|| ExecutionId::derive("wa", "11", "reservation"));
    let contract = json!({ "name": NAME, "phone": PHONE, "party_size": 2 });
    let path = [
        (
            None,
            State::Received,
            json!({ "via": "webhook", "from": PHONE }),
        ),
        (Some(State::Received), State::Validated, json!({})),
        (
            Some(State::Validated),
            State::ModelRequested,
            json!({ "backend": "fake", "model": "m1" }),
        ),
        (
            Some(State::ModelRequested),
            State::ModelCompleted,
            json!({ "backend": "fake", "contract": contract }),
        ),
        (
            Some(State::ModelCompleted),
            State::NeedsReview,
            json!({ "reason": format!("call {NAME}") }),
        ),
    ];
    for (from, to, detail) in path {
        service
            .record_transition(&step(id, from, to, detail))
            .await?;
    }
    service
        .create_review_item(&NewReviewItem {
            execution_id: id,
            generation: "0".into(),
            kind: ReviewKind::NeedsReview,
            handoff: json!({ "requested": { "text": format!("{NAME} here, table for 2"), "from": PHONE } }),
            sla_due_at: None,
        })
        .await?;
    let key = format!("{}:interpret", id.as_uuid());
    let mut begin = claim(&key, "interpreter-1");
    begin.execution_id = Some(id);
    let token = started(&service.begin(&begin).await?)?;
    service
        .complete(&key, token, Some(json!({ "contract": contract })))
        .await?;
    dl.payload = serde_json::to_vec(&json!({ "data": { "from": PHONE, "name": NAME } }))?;
    dl.headers.insert("X-Sender".into(), vec![PHONE.into()]);
    let entry = service.record_dead_letter(&dl).await?.dead_letter.id;
    Ok((id, entry))
}

/// Everything the ledger answers about the execution, as one text.
async fn everything(sre: &LedgerClient, id: ExecutionId, entry: i64) -> anyhow::Result<String> {
    let (execution, journal) = sre.get_execution(id).await?;
    let key = format!(
        "{:?}",
        sre.get_key(&format!("{}:interpret", id.as_uuid())).await?
    );
    let (dead, _) = sre.get_dead_letter(entry).await?;
    let items = sre.list_review_items(&Default::default()).await?.items;
    Ok(format!(
        "{execution:?} {journal:?} {key} {dead:?} {} {items:?}",
        String::from_utf8_lossy(&dead.payload)
    ))
}

#[tokio::test]
async fn erasure_removes_the_payload_and_keeps_the_skeleton() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let (id, entry) = personal_execution(&ledger.client).await?;
    let sre = ledger.client(Some(SRE))?;
    // Reading keys is for services and admins: read them as admin.
    let admin = ledger.client(Some(ADMIN))?;
    let before = everything(&admin, id, entry).await?;
    assert!(before.contains(NAME) && before.contains(PHONE), "{before}");

    // A reviewer and a service may not erase; a reason is required.
    for token in [REVIEWER, SERVICE] {
        let err = ledger
            .client(Some(token))?
            .erase_execution(id, "asked", false)
            .await
            .err();
        assert_eq!(
            err.as_ref().and_then(code),
            Some(Code::PermissionDenied),
            "{token}"
        );
    }
    let err = sre.erase_execution(id, " ", false).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));

    // A dry run counts and changes nothing.
    let dry = sre.erase_execution(id, "GDPR request 7", true).await?;
    assert!(!dry.applied && dry.erased_at.is_none());
    assert_eq!(
        (
            dry.journal_entries,
            dry.review_items,
            dry.keys,
            dry.dead_letters
        ),
        (5, 1, 1, 1)
    );
    assert_eq!(everything(&admin, id, entry).await?, before);
    assert!(sre.execution_audit(id).await?.is_empty());

    let erased = sre.erase_execution(id, "GDPR request 7", false).await?;
    assert!(erased.applied && erased.erased_at.is_some());
    let messages = vec![
        StreamMessage {
            stream: "SLUICE_DLQ".into(),
            sequence: 1011,
        },
        StreamMessage {
            stream: "SLUICE_WORK".into(),
            sequence: 11,
        },
    ];
    assert_eq!(erased.messages, messages);
    let after = everything(&admin, id, entry).await?;
    assert!(!after.contains(NAME) && !after.contains(PHONE), "{after}");

    // The skeleton: every state, the run metadata, the key, the audit row.
    let (execution, journal) = sre.get_execution(id).await?;
    assert_eq!(execution.state, "NEEDS_REVIEW");
    assert_eq!(execution.erased_at, erased.erased_at);
    let states: Vec<&str> = journal.iter().map(|j| j.to_state.as_str()).collect();
    assert_eq!(
        states,
        [
            "RECEIVED",
            "VALIDATED",
            "MODEL_REQUESTED",
            "MODEL_COMPLETED",
            "NEEDS_REVIEW"
        ]
    );
    let requested = journal[2].detail.clone().unwrap_or_default();
    assert_eq!(
        (requested["backend"].as_str(), requested["erased"].as_bool()),
        (Some("fake"), Some(true))
    );
    assert_eq!(
        journal[0].detail.clone().unwrap_or_default()["via"],
        "webhook"
    );
    let key = admin
        .get_key(&format!("{}:interpret", id.as_uuid()))
        .await?;
    assert_eq!(key.result.unwrap_or_default()["erased"], true);
    let audit = sre.execution_audit(id).await?;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str()),
        ("execution.erase", "bob")
    );
    assert_eq!(
        (audit[0].role.as_str(), audit[0].reason.as_str()),
        ("sre", "GDPR request 7")
    );

    // Again: nothing applied, the messages still named, no second audit row.
    let again = sre.erase_execution(id, "GDPR request 7", false).await?;
    assert!(!again.applied);
    assert_eq!(
        (again.erased_at, again.messages),
        (erased.erased_at, messages)
    );
    assert_eq!(sre.execution_audit(id).await?.len(), 1);

    // There is nothing left to replay.
    let replay = BeginReplay {
        id: entry,
        reason: "retry".into(),
        batch_id: "b".into(),
        max_replays: 0,
    };
    let err = sre.begin_replay(&replay).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    Ok(())
}

#[tokio::test]
async fn an_execution_in_flight_is_not_erased() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let id = ExecutionId::derive("wa", "in-flight", "reservation");
    ledger
        .client
        .record_transition(&step(id, None, State::Received, json!({})))
        .await?;
    let admin = ledger.client(Some(ADMIN))?;
    let err = admin.erase_execution(id, "asked", false).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::FailedPrecondition));
    let missing = ExecutionId::derive("wa", "missing", "reservation");
    let err = admin.erase_execution(missing, "asked", false).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::NotFound));
    Ok(())
}
