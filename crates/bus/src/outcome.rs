//! What a handler decided about one delivery.

use std::time::Duration;

use sluice_core::FailureClass;

/// A handler's verdict. The bus alone turns it into an acknowledgement, so
/// handlers never ack, nak or term themselves and every stage behaves the
/// same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Processed: the bus double-acks and waits for the server to confirm.
    Done,
    /// Try again later: the bus naks with a delay of at least `after` (and
    /// at least the backoff for this delivery count). On the consumer's final
    /// allowed delivery the message is dead-lettered instead.
    Retry {
        /// The earliest the message may be redelivered.
        after: Duration,
    },
    /// Give up on this message: the bus publishes it to the dead-letter
    /// stream with the class and reason, then terms it.
    DeadLetter {
        /// Why it failed, as classified by the handler.
        class: FailureClass,
        /// One line for the SRE reading the dead letter.
        reason: String,
    },
}

impl Outcome {
    /// `Retry` with no minimum: the backoff alone decides the delay.
    pub const fn retry() -> Self {
        Outcome::Retry {
            after: Duration::ZERO,
        }
    }

    /// `Retry` no sooner than `after`.
    pub const fn retry_after(after: Duration) -> Self {
        Outcome::Retry { after }
    }

    /// `DeadLetter` with `class` and `reason`.
    pub fn dead_letter(class: FailureClass, reason: impl Into<String>) -> Self {
        Outcome::DeadLetter {
            class,
            reason: reason.into(),
        }
    }

    /// A short name for logs and metrics.
    pub const fn kind(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Retry { .. } => "retry",
            Outcome::DeadLetter { .. } => "dead_letter",
        }
    }
}
