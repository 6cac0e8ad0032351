//! What a message on the dead-letter stream says, as a ledger entry.

use std::str::FromStr;

use serde_json::json;
use sluice_bus::Delivery;
use sluice_core::headers::{self, dead_letter as dl};
use sluice_core::{ExecutionId, FailureClass, Stage, Subjects};
use sluice_ledger::{Headers, NewDeadLetter};

/// The ledger entry for `delivery`, a message on
/// `<prefix>.dlq.<stage>.<workflow>`, or why it cannot be indexed (its
/// subject names no stage and workflow).
///
/// The entry is keyed by the ORIGINAL stream and sequence from the
/// `Sluice-Dlq-*` headers, so the bus's own dead letter and the advisory
/// path's copy of one message are one entry. A message published there
/// without them is keyed by its own place in the dead-letter stream.
pub fn new_dead_letter(subjects: &Subjects, delivery: &Delivery) -> Result<NewDeadLetter, String> {
    let (stage, workflow) = stage_and_workflow(subjects, &delivery.subject)?;
    let header = |name: &str| delivery.header(name).filter(|v| !v.is_empty());
    let original = |name: &str| header(&format!("{}{name}", dl::ORIGINAL_PREFIX));
    let stream = header(dl::STREAM).map(str::to_owned);
    let sequence = header(dl::SEQUENCE).and_then(|s| s.parse::<u64>().ok());
    let (stream, stream_sequence) = match (stream, sequence) {
        (Some(stream), Some(sequence)) if sequence > 0 => (stream, sequence),
        _ => (delivery.stream.clone(), delivery.stream_sequence),
    };
    Ok(NewDeadLetter {
        stream,
        stream_sequence,
        stage,
        workflow,
        execution_id: original(headers::EXECUTION_ID).and_then(|v| ExecutionId::from_str(v).ok()),
        correlation_id: original(headers::CORRELATION_ID)
            .unwrap_or_default()
            .to_owned(),
        failure_class: header(dl::CLASS)
            .and_then(|c| FailureClass::from_str(c).ok())
            .unwrap_or(FailureClass::Unknown),
        reason: header(dl::REASON).unwrap_or("no reason given").to_owned(),
        error_detail: Some(json!({
            "consumer": header(dl::CONSUMER).unwrap_or_default(),
            "dead_letter_subject": delivery.subject,
        })),
        attempts: header(dl::DELIVERIES)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        // Now (the database's clock): the dead letter carries no time, and
        // its stream already keeps when it was stored.
        first_failed_at: None,
        last_failed_at: None,
        // A dead letter not written by Sluice may not say where it came from;
        // its own subject is the only place known.
        subject: header(dl::SUBJECT).unwrap_or(&delivery.subject).to_owned(),
        headers: original_headers(delivery),
        payload: delivery.payload.to_vec(),
        dlq_stream: delivery.stream.clone(),
        dlq_sequence: delivery.stream_sequence,
    })
}

/// `(stage, workflow)` from `<prefix>.dlq.<stage>.<workflow>`.
fn stage_and_workflow(subjects: &Subjects, subject: &str) -> Result<(String, String), String> {
    let rest = subject
        .strip_prefix(subjects.prefix())
        .and_then(|r| r.strip_prefix(".dlq."));
    match rest.and_then(|r| r.split_once('.')) {
        Some((stage, workflow))
            if Stage::from_str(stage).is_ok()
                && !workflow.is_empty()
                && !workflow.contains('.') =>
        {
            Ok((stage.to_owned(), workflow.to_owned()))
        }
        _ => Err(format!("{subject} names no stage and workflow")),
    }
}

/// The original message's headers: the `Sluice-Orig-*` copies under their
/// own names again, as a replay republishes them.
fn original_headers(delivery: &Delivery) -> Headers {
    let mut out = Headers::new();
    for (name, values) in delivery.headers.iter() {
        let name: &str = name.as_ref();
        if let Some(original) = name.strip_prefix(dl::ORIGINAL_PREFIX) {
            out.entry(original.to_owned())
                .or_default()
                .extend(values.iter().map(|v| v.as_str().to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stage_and_workflow_from_the_subject() {
        let s = Subjects::new("p").unwrap();
        assert_eq!(
            stage_and_workflow(&s, "p.dlq.gate.reservation"),
            Ok(("gate".to_owned(), "reservation".to_owned()))
        );
        assert!(stage_and_workflow(&s, "p.dlq.gate").is_err());
        assert!(stage_and_workflow(&s, "p.dlq.nope.w").is_err());
        assert!(stage_and_workflow(&s, "p.dlq.gate.a.b").is_err());
        assert!(stage_and_workflow(&s, "q.dlq.gate.w").is_err());
    }
}
