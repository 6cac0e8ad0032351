use std::path::PathBuf;

use serde_json::json;

use super::*;

fn workflow() -> FeedbackWorkflow {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation");
    FeedbackWorkflow::load(&dir, &Registry::with_builtin()).unwrap_or_else(|e| panic!("{e}"))
}

/// A party of forty as the gate stopped it, received at 18:00 in Madrid.
fn envelope(data: Value) -> Envelope {
    let mut envelope: Envelope = serde_json::from_value(json!({
        "version": 1,
        "execution_id": "0b6e7d4e-8a57-5d35-9a51-7d5b1c2e3f40",
        "correlation_id": "c-1",
        "source": "whatsapp",
        "event_id": "wamid.forty",
        "workflow": "reservation",
        "received_at": "2026-11-23T17:00:00.250Z",
        "data": data,
        "interpretation": {
            "contract": {"channel": "whatsapp", "message_id": "wamid.forty", "sender": "34600000009",
                         "action": "create_booking", "name": "Ana", "party_size": 40,
                         "date": "2026-11-24", "time": "21:00"},
            "confidence": 0.95, "backend": "rules", "prompt_version": "v1",
            "prompt_sha256": "abc", "latency_ms": 1,
        },
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    envelope.execution_id = ExecutionId::derive("whatsapp", "wamid.forty", "reservation");
    envelope
}

fn message() -> Value {
    json!({"id": "wamid.forty", "from": "34600000009", "name": "Ana",
           "text": "A table for 40 tomorrow at nine, please."})
}

fn reviewed(decision: Decision, corrections: Value) -> Reviewed {
    Reviewed {
        id: 7,
        decision,
        decided_by: "ops-ana".into(),
        decided_at: "2026-11-23T17:05:00Z".parse().unwrap_or_default(),
        reason: "they called: twelve".into(),
        corrections: corrections.as_object().cloned().unwrap_or_default(),
        envelope: envelope(message()),
    }
}

#[test]
fn a_correction_is_expected_on_the_original_message_at_its_received_time() {
    let case = workflow()
        .case(&reviewed(Decision::Approved, json!({"party_size": 12})))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(case.id, "feedback-7");
    assert_eq!(case.category, "feedback: corrected");
    assert_eq!(
        case.description,
        "Approved by ops-ana with party_size corrected: they called: twelve"
    );
    assert_eq!(case.payload, message());
    assert_eq!(case.now.to_rfc3339(), "2026-11-23T18:00:00.250+01:00");
    assert_eq!(case.timezone, "Europe/Madrid");
    assert_eq!(case.source.as_deref(), Some("whatsapp"));
    // The corrected reading, without the fields copied from the payload;
    // the route is not compared.
    let expected = json!({"action": "create_booking", "name": "Ana", "party_size": 12,
                          "date": "2026-11-24", "time": "21:00"});
    assert_eq!(case.expected.contract, expected.as_object().cloned());
    assert_eq!(case.expected.outcome, None);
    let feedback = case.feedback.unwrap_or_else(|| panic!("no feedback"));
    assert_eq!(feedback.decision, Decision::Approved);
    assert_eq!(feedback.corrections["party_size"], 12);
    let output = feedback.model_output.unwrap_or_else(|| panic!("no output"));
    assert_eq!(output.contract["party_size"], 40);
    assert_eq!(output.backend, "rules");
}

#[test]
fn a_rejection_expects_no_unattended_action_and_keeps_the_parked_fields() {
    let mut rejected = reviewed(Decision::Rejected, json!({}));
    let mut data = message();
    data["timestamp"] = json!("2026-11-23T16:59:58Z");
    rejected.envelope = envelope(data);
    if let Some(i) = rejected.envelope.interpretation.as_mut() {
        i.carried_over = vec!["date".into()];
    }
    let case = workflow().case(&rejected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(case.category, "feedback: rejected");
    assert_eq!(case.expected.outcome, Some(Outcome::NotAuto));
    assert_eq!(case.expected.contract, None);
    // The payload's own timestamp is what the interpreter read as now.
    assert_eq!(case.now.to_rfc3339(), "2026-11-23T17:59:58+01:00");
    assert_eq!(
        case.collected,
        json!({"date": "2026-11-24"}).as_object().cloned()
    );
    assert!(case.feedback.is_some_and(|f| f.corrections.is_empty()));
}

#[test]
fn a_null_correction_expects_the_field_absent() {
    let case = workflow()
        .case(&reviewed(Decision::Approved, json!({"time": null})))
        .unwrap_or_else(|e| panic!("{e}"));
    let contract = case.expected.contract.unwrap_or_default();
    assert!(!contract.contains_key("time"), "{contract:?}");
    assert_eq!(contract["party_size"], 40);
}

#[test]
fn a_case_line_reads_back_as_the_same_case() {
    let case = workflow()
        .case(&reviewed(Decision::Approved, json!({"party_size": 12})))
        .unwrap_or_else(|e| panic!("{e}"));
    let line = serde_json::to_string(&case).unwrap_or_default();
    assert!(!line.contains('\n'));
    let back = parse_line(&line, Origin::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, case);
}

#[test]
fn decisions_that_teach_nothing_make_no_case() {
    let w = workflow();
    let why = |r: &Reviewed| w.case(r).map(|_| ()).unwrap_err().to_string();
    assert_eq!(
        why(&reviewed(Decision::Approved, json!({}))),
        "review item 7: approved as understood: nothing to learn"
    );
    let mut after_effect = reviewed(Decision::Rejected, json!({}));
    after_effect
        .envelope
        .actions
        .push(sluice_core::pipeline::ActionRecord {
            action: "create_booking".into(),
            key: "reservation:whatsapp:wamid.forty".into(),
            external_id: None,
            response: json!({"status": 409}),
            prevented_duplicate: false,
        });
    assert!(why(&after_effect).contains("after an action was attempted"));
    let mut elsewhere = reviewed(Decision::Rejected, json!({}));
    elsewhere.envelope.workflow = "crm-enrichment".into();
    assert!(why(&elsewhere).contains("belongs to workflow crm-enrichment"));
    let mut unread = reviewed(Decision::Approved, json!({"party_size": 12}));
    unread.envelope.interpretation = None;
    assert!(why(&unread).contains("without an interpretation"));
}
