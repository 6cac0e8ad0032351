//! A backend wrapper that remembers what the primary backend was asked and
//! answered, so a report can show the raw answer and the rendered prompt's
//! hash (which a fake model script is keyed by) without changing the
//! interpreter's path.

use std::sync::{Arc, Mutex, PoisonError};

use sluice_interpreter::backend::{AnswerFuture, BackendAnswer, BackendError};
use sluice_interpreter::prompt::sha256_hex;
use sluice_interpreter::{Backend, InterpretRequest};

/// One call to the primary backend.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// SHA-256 (hex) of the last user message: the rendered prompt, or a
    /// repair turn.
    pub prompt_sha256: String,
    /// What the backend answered.
    pub answer: Result<BackendAnswer, BackendError>,
}

/// The calls made since the last [`Log::take`].
#[derive(Debug, Default)]
pub(crate) struct Log(Mutex<Vec<Call>>);

impl Log {
    /// Every call since the last take, oldest first.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, call: Call) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
}

/// The primary backend, recorded.
#[derive(Debug)]
pub(crate) struct Recording {
    inner: Arc<dyn Backend>,
    log: Arc<Log>,
}

impl Recording {
    /// Wraps `inner`, writing to `log`.
    pub fn new(inner: Arc<dyn Backend>, log: Arc<Log>) -> Self {
        Self { inner, log }
    }
}

impl Backend for Recording {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> Option<&str> {
        self.inner.model()
    }

    fn is_model(&self) -> bool {
        self.inner.is_model()
    }

    fn interpret<'a>(&'a self, request: &'a InterpretRequest) -> AnswerFuture<'a> {
        Box::pin(async move {
            let answer = self.inner.interpret(request).await;
            let last_user = request
                .messages
                .iter()
                .rev()
                .find(|m| m.role == "user")
                .map_or("", |m| m.content.as_str());
            self.log.push(Call {
                prompt_sha256: sha256_hex(last_user.as_bytes()),
                answer: answer.clone(),
            });
            answer
        })
    }
}
