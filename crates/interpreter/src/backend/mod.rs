//! Model backends: something that reads an event and answers with contract
//! JSON. The interpreter validates every answer; a backend is never trusted.

pub mod openai;
pub mod rules;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::DateTime;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sluice_core::pipeline::Usage;

use crate::rules::OpeningHours;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl ChatMessage {
    /// A message from `role`.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: content.into(),
        }
    }
}

/// What a backend is asked.
#[derive(Debug, Clone)]
pub struct InterpretRequest {
    /// The workflow.
    pub workflow: String,
    /// The event's source.
    pub source: String,
    /// The upstream payload (rules backends read it directly).
    pub payload: serde_json::Value,
    /// The reference time in the workflow's timezone.
    pub now: DateTime<Tz>,
    /// The business's opening hours, if the workflow declares them.
    pub opening_hours: Option<OpeningHours>,
    /// The conversation for model backends: system, rendered prompt and,
    /// for a repair, the rejected answer and the validation errors.
    pub messages: Vec<ChatMessage>,
    /// The structured-output schema's name.
    pub schema_name: String,
    /// The structured-output schema.
    pub schema: serde_json::Value,
    /// Completion token ceiling of this call.
    pub max_tokens: u32,
    /// Time limit of this call.
    pub timeout: Duration,
    /// What this execution has used so far, and its ceiling.
    pub budget: Budget,
}

/// Per-execution spending: checked before each call, so a spent budget
/// refuses the call (and the interpreter falls back) instead of overspending.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// Used so far by this execution.
    pub spent: Usage,
    /// Cost ceiling of the execution, in US dollars.
    pub max_cost_usd: Option<f64>,
    /// Token ceiling (prompt + completion) of the execution.
    pub max_tokens: Option<u32>,
}

/// A backend's answer: raw content, still to be parsed and validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendAnswer {
    /// The answer text (JSON if the backend behaved).
    pub content: String,
    /// Tokens and cost of the call.
    pub usage: Option<Usage>,
    /// The model that answered.
    pub model: Option<String>,
    /// Per-field confidences, when the backend knows them.
    pub field_confidence: BTreeMap<String, f64>,
}

/// Why a backend gave no usable answer: each kind leads to the fallback.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// The call did not finish within the time limit.
    #[error("model timed out after {0:?}")]
    Timeout(Duration),
    /// The backend could not be reached or failed (connection, 5xx, 429).
    #[error("model unavailable: {0}")]
    Unavailable(String),
    /// The call would exceed the token or cost budget; it was not made.
    #[error("over budget: {0}")]
    OverBudget(String),
    /// The backend answered something that is not a chat completion.
    #[error("invalid model output: {0}")]
    InvalidOutput(String),
}

impl BackendError {
    /// A short label for metrics and the `fallback_reason`.
    pub const fn kind(&self) -> &'static str {
        match self {
            BackendError::Timeout(_) => "timeout",
            BackendError::Unavailable(_) => "unavailable",
            BackendError::OverBudget(_) => "over_budget",
            BackendError::InvalidOutput(_) => "invalid_output",
        }
    }
}

/// The future a backend returns.
pub type AnswerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<BackendAnswer, BackendError>> + Send + 'a>>;

/// A model backend. `interpret` is an `async fn` written out as a boxed
/// future so that workflows can hold `Arc<dyn Backend>` chosen by name.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// The backend's name as recorded (`openai`, `rules`, `fake`).
    fn name(&self) -> &str;
    /// The model, for model backends.
    fn model(&self) -> Option<&str>;
    /// Whether answers cost tokens (a repair is only worth it for models).
    fn is_model(&self) -> bool;
    /// Answers `request`.
    fn interpret<'a>(&'a self, request: &'a InterpretRequest) -> AnswerFuture<'a>;
}
