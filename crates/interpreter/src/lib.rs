//! The interpreter stage of Sluice.
//!
//! For each event of a workflow it renders the versioned prompt (version
//! and SHA-256 recorded), asks the workflow's backend — an OpenAI-compatible
//! chat-completions server with JSON-Schema structured output, or a
//! registered deterministic extractor — validates the answer against the
//! workflow's contract schema, gives a model one bounded repair attempt,
//! then falls back to the deterministic extractor (or sends the execution to
//! review). The validated interpretation is stored in the ledger under
//! `<execution>:interpret`, so redeliveries and replays reuse it, and the
//! envelope goes on to the gate.

pub mod backend;
pub mod contract;
pub mod conversation;
pub mod error;
pub mod interpret;
mod merge;
mod observe;
pub mod options;
pub mod prompt;
pub mod request;
pub mod rules;
pub mod service;
pub mod stage;
pub mod store;
pub mod workflow;

pub use backend::openai::{ApiKey, ModelOptions, OpenAiBackend};
pub use backend::{Backend, BackendAnswer, BackendError, InterpretRequest};
pub use contract::Contract;
pub use error::Error;
pub use interpret::Reading;
pub use options::{LedgerOptions, Options};
pub use prompt::PromptTemplate;
pub use rules::{Extractor, Registry};
pub use service::Service;
pub use stage::{InterpretHandler, StageContext};
pub use workflow::LoadedWorkflow;
