//! An OpenAI-compatible chat-completions backend (OpenAI, vLLM, Ollama,
//! llama.cpp servers) with JSON-Schema structured output.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sluice_core::pipeline::Usage;

use super::{AnswerFuture, Backend, BackendAnswer, BackendError, InterpretRequest};

/// How to reach one OpenAI-compatible server, as configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    /// Base URL, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// The model used when the workflow names none.
    pub model: String,
    /// Environment variable holding the API key (resolved at start-up by
    /// the caller's environment map; the key is never logged).
    pub api_key_env: Option<String>,
    /// File holding the API key (a mounted secret).
    pub api_key_file: Option<PathBuf>,
    /// US dollars per 1,000 prompt tokens.
    pub prompt_price_per_1k: f64,
    /// US dollars per 1,000 completion tokens.
    pub completion_price_per_1k: f64,
    /// Cost ceiling of one call, in US dollars (worst case, checked before it).
    pub max_cost_per_call_usd: Option<f64>,
    /// Token ceiling (prompt + completion) of one execution.
    pub max_tokens_per_execution: Option<u32>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key_env: None,
            api_key_file: None,
            prompt_price_per_1k: 0.0,
            completion_price_per_1k: 0.0,
            max_cost_per_call_usd: None,
            max_tokens_per_execution: None,
        }
    }
}

/// An API key that never shows up in `Debug` output or logs.
#[derive(Clone, Default)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The backend.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    name: String,
    model: String,
    options: ModelOptions,
    api_key: Option<ApiKey>,
    http: reqwest::Client,
}

impl OpenAiBackend {
    /// A backend recorded as `name`, asking `model` (or the configured default).
    pub fn new(
        name: &str,
        model: Option<&str>,
        options: ModelOptions,
        api_key: Option<ApiKey>,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            name: name.to_owned(),
            model: model.map_or_else(|| options.model.clone(), str::to_owned),
            api_key,
            http: reqwest::Client::builder().build()?,
            options,
        })
    }

    fn cost(&self, prompt: u32, completion: u32) -> f64 {
        f64::from(prompt) / 1000.0 * self.options.prompt_price_per_1k
            + f64::from(completion) / 1000.0 * self.options.completion_price_per_1k
    }

    /// Refuses a call whose worst case would break a per-call or
    /// per-execution limit, before anything is sent.
    fn check_budget(&self, request: &InterpretRequest) -> Result<(), BackendError> {
        let chars: usize = request.messages.iter().map(|m| m.content.len()).sum();
        // About four characters per token: a deliberate over-estimate is fine.
        let prompt_estimate = u32::try_from(chars / 3).unwrap_or(u32::MAX);
        let worst = self.cost(prompt_estimate, request.max_tokens);
        let spent = request.budget.spent;
        if let Some(max) = self.options.max_cost_per_call_usd
            && worst > max
        {
            return Err(BackendError::OverBudget(format!(
                "a call may cost ${worst:.4}, over the per-call limit ${max:.4}"
            )));
        }
        if let Some(max) = request.budget.max_cost_usd
            && spent.cost_usd + worst > max
        {
            return Err(BackendError::OverBudget(format!(
                "execution spent ${:.4} of ${max:.4}; the next call may cost ${worst:.4}",
                spent.cost_usd
            )));
        }
        let tokens = spent.prompt_tokens + spent.completion_tokens;
        if let Some(max) = request
            .budget
            .max_tokens
            .or(self.options.max_tokens_per_execution)
            && tokens
                .saturating_add(prompt_estimate)
                .saturating_add(request.max_tokens)
                > max
        {
            return Err(BackendError::OverBudget(format!(
                "execution used {tokens} of {max} tokens"
            )));
        }
        Ok(())
    }

    async fn call(&self, request: &InterpretRequest) -> Result<BackendAnswer, BackendError> {
        self.check_budget(request)?;
        let body = json!({
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": request.schema_name, "schema": request.schema, "strict": true }
            },
        });
        let url = format!(
            "{}/chat/completions",
            self.options.base_url.trim_end_matches('/')
        );
        let mut post = self.http.post(url).timeout(request.timeout).json(&body);
        if let Some(ApiKey(key)) = &self.api_key {
            post = post.bearer_auth(key);
        }
        let response = post
            .send()
            .await
            .map_err(|e| classify(&e, request.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(BackendError::Unavailable(format!(
                "HTTP {}",
                status.as_u16()
            )));
        }
        let body = read_capped(response, request.timeout).await?;
        let completion: Completion = serde_json::from_slice(&body).map_err(|_| {
            BackendError::InvalidOutput("the response is not a chat completion".into())
        })?;
        let content = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| BackendError::InvalidOutput("no choices[0].message.content".into()))?;
        let usage = completion.usage.map(|u| Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            cost_usd: self.cost(u.prompt_tokens, u.completion_tokens),
        });
        Ok(BackendAnswer {
            content,
            usage,
            model: Some(completion.model.unwrap_or_else(|| self.model.clone())),
            field_confidence: Default::default(),
        })
    }
}

/// The most of a completion that is read. A contract is a few hundred bytes
/// and `max_tokens` bounds an honest answer far below this; only a broken or
/// hostile endpoint gets here, and it must not be able to fill the memory.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Reads the body, refusing one over [`MAX_RESPONSE_BYTES`] as invalid
/// output (the fallback then answers) without reading the rest.
async fn read_capped(
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, BackendError> {
    let too_big = |n: u64| {
        BackendError::InvalidOutput(format!(
            "the response is over the {MAX_RESPONSE_BYTES}-byte limit ({n} bytes or more)"
        ))
    };
    if let Some(n) = response.content_length()
        && n > MAX_RESPONSE_BYTES as u64
    {
        return Err(too_big(n));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, timeout))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_big((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn classify(err: &reqwest::Error, timeout: Duration) -> BackendError {
    if err.is_timeout() {
        BackendError::Timeout(timeout)
    } else {
        // Never the URL's query or headers: only the kind of failure.
        BackendError::Unavailable(if err.is_connect() {
            "connection failed".into()
        } else {
            "request failed".into()
        })
    }
}

impl Backend for OpenAiBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }

    fn is_model(&self) -> bool {
        true
    }

    fn interpret<'a>(&'a self, request: &'a InterpretRequest) -> AnswerFuture<'a> {
        Box::pin(self.call(request))
    }
}

#[derive(Debug, Deserialize)]
struct Completion {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: WireMessage,
}

#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_printed() {
        let key = ApiKey::new("sk-secret");
        assert!(!format!("{key:?}").contains("sk-secret"));
    }
}
