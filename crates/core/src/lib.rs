//! Wire contracts shared by every Sluice service.
//!
//! Everything that crosses a process boundary — the event envelope, execution
//! and correlation ids, NATS subjects and headers, the execution state machine,
//! failure classes, the declared workflow spec and the Standard Webhooks
//! signatures of Sluice's HTTP interfaces — is defined here, once, and
//! covered by snapshot tests so that a change to the wire format is a visible
//! diff in review.

pub mod envelope;
pub mod error;
pub mod failure;
pub mod headers;
pub mod ids;
pub mod metrics;
pub mod pipeline;
pub mod signature;
pub mod source;
pub mod stage;
pub mod state;
pub mod subjects;
pub mod template;
pub mod workflow;

pub use envelope::{ENVELOPE_VERSION, Envelope};
pub use error::Error;
pub use failure::FailureClass;
pub use ids::{CorrelationId, ExecutionId, MessageId};
pub use source::{CatchUp, ScheduleSpec, SourceSpec};
pub use stage::Stage;
pub use state::State;
pub use subjects::Subjects;
pub use workflow::WorkflowSpec;
