//! A fake outbound-messages endpoint (the WhatsApp API stand-in) on
//! 127.0.0.1:0 that fails the first `fail_first` requests with 503.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// One accepted message: its `Idempotency-Key` and body.
pub type Sent = (Option<String>, Value);

#[derive(Clone, Default)]
pub struct Outbox {
    fail_first: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    delivered: Arc<Mutex<Vec<Sent>>>,
}

impl Outbox {
    /// Starts the endpoint; `fail_first = usize::MAX` always fails.
    pub async fn start(fail_first: usize) -> (Self, SocketAddr) {
        let outbox = Self::default();
        outbox.fail_first.store(fail_first, Ordering::SeqCst);
        let app = Router::new()
            .route("/v1/messages", post(receive))
            .with_state(outbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (outbox, addr)
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Messages accepted (2xx), with their `Idempotency-Key`.
    pub fn delivered(&self) -> Vec<Sent> {
        self.delivered.lock().unwrap().clone()
    }
}

async fn receive(
    State(outbox): State<Outbox>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let n = outbox.attempts.fetch_add(1, Ordering::SeqCst);
    if n < outbox.fail_first.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    outbox.delivered.lock().unwrap().push((key, body));
    StatusCode::ACCEPTED
}
