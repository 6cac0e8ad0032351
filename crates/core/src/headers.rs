//! NATS header names carried by every Sluice message.
//!
//! Readers look headers up by these constants only, so renaming one is a
//! change here and in the snapshot below, never a silent drift.

/// JetStream's deduplication header.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The correlation id of the execution.
pub const CORRELATION_ID: &str = "Sluice-Correlation-Id";
/// The execution id.
pub const EXECUTION_ID: &str = "Sluice-Execution-Id";
/// The workflow the message belongs to.
pub const WORKFLOW: &str = "Sluice-Workflow";
/// The stage the message is addressed to.
pub const STAGE: &str = "Sluice-Stage";
/// The generation of this pass through the stage (see `MessageId::stage`).
pub const GENERATION: &str = "Sluice-Generation";
/// The envelope version of the payload.
pub const ENVELOPE_VERSION: &str = "Sluice-Envelope-Version";
/// W3C trace context.
pub const TRACEPARENT: &str = "traceparent";
/// W3C trace state.
pub const TRACESTATE: &str = "tracestate";

/// Headers added to a dead letter.
pub mod dead_letter {
    /// The failure class (`temporary`, `permanent`, `unknown`).
    pub const CLASS: &str = "Sluice-Dlq-Class";
    /// Why the message was dead-lettered, one line.
    pub const REASON: &str = "Sluice-Dlq-Reason";
    /// The stream the original message lives in.
    pub const STREAM: &str = "Sluice-Dlq-Stream";
    /// The original message's stream sequence.
    pub const SEQUENCE: &str = "Sluice-Dlq-Sequence";
    /// The original subject.
    pub const SUBJECT: &str = "Sluice-Dlq-Subject";
    /// The consumer that gave up.
    pub const CONSUMER: &str = "Sluice-Dlq-Consumer";
    /// How many times the message was delivered.
    pub const DELIVERIES: &str = "Sluice-Dlq-Deliveries";
    /// Prefix under which the original message's headers are copied, so the
    /// dead letter's own `Nats-Msg-Id` never collides with the original's.
    pub const ORIGINAL_PREFIX: &str = "Sluice-Orig-";
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_names_snapshot() {
        let names = [
            super::MSG_ID,
            super::CORRELATION_ID,
            super::EXECUTION_ID,
            super::WORKFLOW,
            super::STAGE,
            super::GENERATION,
            super::ENVELOPE_VERSION,
            super::TRACEPARENT,
            super::TRACESTATE,
            super::dead_letter::CLASS,
            super::dead_letter::REASON,
            super::dead_letter::STREAM,
            super::dead_letter::SEQUENCE,
            super::dead_letter::SUBJECT,
            super::dead_letter::CONSUMER,
            super::dead_letter::DELIVERIES,
            super::dead_letter::ORIGINAL_PREFIX,
        ];
        insta::assert_json_snapshot!(names);
    }
}
