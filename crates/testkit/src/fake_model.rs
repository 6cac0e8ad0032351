//! A scripted fake of an OpenAI-compatible chat-completions server.
//!
//! It speaks real HTTP (axum on `127.0.0.1:0`) and answers by prompt hash:
//! the SHA-256 (hex) of the last user message picks the scripted answer, so
//! a changed prompt really changes the answer. Matchers on the text are
//! there for requests whose exact text a test does not build itself (a
//! repair turn). Unmatched requests get the default answer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the fake answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A chat completion whose content is this JSON, serialised.
    Json(Value),
    /// A chat completion whose content is this text verbatim (e.g. not JSON).
    Content(String),
    /// An HTTP error status with a small JSON body.
    Status(u16),
    /// The inner answer after a delay (longer than the client's timeout = a timeout).
    Delay(Duration, Box<Answer>),
}

/// Which requests a scripted answer applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// SHA-256 (hex) of the last user message.
    PromptHash(String),
    /// The last user message contains this text.
    LastUserContains(String),
}

impl From<&str> for Matcher {
    /// A 64-hex-digit string is a prompt hash; anything else a substring.
    fn from(s: &str) -> Self {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Matcher::PromptHash(s.to_ascii_lowercase())
        } else {
            Matcher::LastUserContains(s.to_owned())
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// SHA-256 (hex) of the last user message.
    pub prompt_hash: String,
    /// The request body.
    pub body: Value,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Debug, Default)]
struct Script {
    rules: Vec<(Matcher, Answer)>,
    default: Option<Answer>,
    /// Answers every request while set, scripts and default notwithstanding.
    outage: Option<Answer>,
    calls: Vec<Call>,
}

/// The running fake.
#[derive(Debug, Clone)]
pub struct FakeModel {
    addr: std::net::SocketAddr,
    script: Arc<Mutex<Script>>,
    shutdown: CancellationToken,
}

/// SHA-256 (hex) of `text`, as the fake computes prompt hashes.
pub fn prompt_hash(text: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

impl FakeModel {
    /// Starts on `127.0.0.1:<ephemeral>`; the default answer is HTTP 500
    /// until [`FakeModel::default_answer`] sets one.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let script = Arc::new(Mutex::new(Script::default()));
        let shutdown = CancellationToken::new();
        let app = Router::new()
            .route("/v1/chat/completions", post(complete))
            .with_state(script.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(Self {
            addr,
            script,
            shutdown,
        })
    }

    /// The base URL to configure (`http://127.0.0.1:<port>/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Answers requests matching `matcher` (a prompt hash or a substring)
    /// with `answer`; the first matching script wins.
    pub fn script(&self, matcher: impl Into<Matcher>, answer: Answer) {
        self.lock().rules.push((matcher.into(), answer));
    }

    /// Answers every unmatched request with `answer`.
    pub fn default_answer(&self, answer: Answer) {
        self.lock().default = Some(answer);
    }

    /// Answers every request with `answer` while it is `Some`, whatever the
    /// scripts say (a model outage: invalid JSON, timeouts); `None` ends it.
    pub fn outage(&self, answer: Option<Answer>) {
        self.lock().outage = answer;
    }

    /// Every request received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many requests were received.
    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    /// Stops the server (it also stops with the test's runtime).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn complete(
    State(script): State<Arc<Mutex<Script>>>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned();
    let hash = prompt_hash(&last_user);
    let answer = {
        let mut s = script.lock().unwrap_or_else(PoisonError::into_inner);
        s.calls.push(Call {
            prompt_hash: hash.clone(),
            body: body.clone(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        s.outage
            .clone()
            .or_else(|| {
                s.rules
                    .iter()
                    .find(|(m, _)| match m {
                        Matcher::PromptHash(h) => *h == hash,
                        Matcher::LastUserContains(t) => last_user.contains(t.as_str()),
                    })
                    .map(|(_, a)| a.clone())
                    .or_else(|| s.default.clone())
            })
            .unwrap_or(Answer::Status(500))
    };
    respond(answer, &body).await
}

async fn respond(mut answer: Answer, body: &Value) -> Response {
    while let Answer::Delay(d, inner) = answer {
        tokio::time::sleep(d).await;
        answer = *inner;
    }
    let content = match answer {
        Answer::Json(v) => v.to_string(),
        Answer::Content(text) => text,
        Answer::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                status,
                Json(json!({"error": {"message": "scripted failure"}})),
            )
                .into_response();
        }
        Answer::Delay(..) => unreachable!("delays are unwrapped above"),
    };
    let completion_tokens = u32::try_from(content.len() / 4).unwrap_or(u32::MAX);
    Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 100, "completion_tokens": completion_tokens, "total_tokens": 100 + completion_tokens },
    }))
    .into_response()
}
