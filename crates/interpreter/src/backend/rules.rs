//! The deterministic backend: a registered extractor behind the
//! [`Backend`] trait, so the offline default and the fallback take the same
//! path through validation as a model's answer.

use std::sync::Arc;

use super::{AnswerFuture, Backend, BackendAnswer, InterpretRequest};
use crate::rules::{ExtractInput, Extractor};

/// A rules backend over one extractor.
#[derive(Debug, Clone)]
pub struct RulesBackend {
    extractor: Arc<dyn Extractor>,
}

impl RulesBackend {
    /// Wraps `extractor`.
    pub fn new(extractor: Arc<dyn Extractor>) -> Self {
        Self { extractor }
    }

    /// Runs the extractor without the async wrapper.
    pub fn answer(&self, request: &InterpretRequest) -> BackendAnswer {
        let input = ExtractInput {
            source: &request.source,
            payload: &request.payload,
            now: request.now,
            opening_hours: request.opening_hours,
        };
        let out = self.extractor.extract(&input);
        BackendAnswer {
            content: serde_json::Value::Object(out.contract).to_string(),
            usage: None,
            model: None,
            field_confidence: out.field_confidence,
        }
    }
}

impl Backend for RulesBackend {
    fn name(&self) -> &str {
        "rules"
    }

    fn model(&self) -> Option<&str> {
        None
    }

    fn is_model(&self) -> bool {
        false
    }

    fn interpret<'a>(&'a self, request: &'a InterpretRequest) -> AnswerFuture<'a> {
        Box::pin(async move { Ok(self.answer(request)) })
    }
}
