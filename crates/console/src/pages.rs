//! The console's pages and the routes to them.

pub mod approve;
pub mod assets;
pub mod corrections;
pub mod dead_letter;
pub mod dead_letters;
pub mod executions;
pub mod handoff;
pub mod item;
pub mod layout;
pub mod queue;
pub mod replay;
pub mod replay_preview;
pub mod replay_progress;
pub mod sign_in;
pub mod switches;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::Method;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::{Next, from_fn, map_response};
use axum::response::IntoResponse as _;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};

use crate::auth::SignedIn;
use crate::state::AppState;

/// Every route of the console. Only `/sign-in` and htmx are served without
/// a session.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route(assets::HTMX_PATH, get(assets::htmx))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/reviews", get(queue::list))
        .route("/reviews/{id}", get(item::show))
        .route("/reviews/{id}/approve", post(approve::approve))
        .route("/reviews/{id}/reject", post(item::reject))
        .route("/reviews/{id}/escalate", post(item::escalate))
        .route("/executions", get(executions::list))
        .route("/executions/{id}", get(executions::show))
        // Switches: everyone signed in reads the list; changing one and its
        // audit trail are for sre and admin (the handlers check the role,
        // the ledger checks it again).
        .route("/switches", get(switches::list).post(switches::change))
        .route("/switches/{key}", get(switches::show))
        // Dead letters, for the sre and admin roles: the list, one entry and
        // its discard; a replay is previewed, confirmed, then followed on
        // its progress page while it runs in the background.
        .route("/dead-letters", get(dead_letters::list))
        .route("/dead-letters/{id}", get(dead_letter::show))
        .route("/dead-letters/{id}/discard", post(dead_letter::discard))
        .route("/dead-letters/replays", post(replay::start))
        .route("/dead-letters/replays/preview", post(replay::preview))
        .route("/dead-letters/replays/{batch}", get(replay_progress::show))
        .layer(from_fn(same_origin))
        .layer(map_response(hardened))
        .with_state(state)
}

static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let policy = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src '{}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        layout::style_hash()
    );
    // The hash is base64: always a valid header value; the fallback only
    // drops the stylesheet.
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// No script but the console's own file (htmx), no framing (clickjacking), forms only to the console itself,
/// the one inline stylesheet by its hash, and nothing cached or leaked in a
/// `Referer`: review items carry personal data.
async fn hardened(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, POLICY.clone());
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send
    // `Origin: null` with the console's own forms, and the origin check
    // could not tell them from a forged one.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A form sent from another site is refused before any handler runs, on
/// top of `SameSite=Strict` and the CSRF token: browsers name the page a
/// POST comes from in `Origin`, and it must be this console's own host
/// (a reverse proxy in front must pass the `Host` it was asked for).
async fn same_origin(request: Request, next: Next) -> Response {
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    if let (true, Some(origin)) = (changes, request.headers().get(ORIGIN)) {
        let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
        let from = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, host)| host);
        if host.is_none() || from != host {
            return crate::Error::CrossOrigin.into_response();
        }
    }
    next.run(request).await
}

async fn home(_: SignedIn) -> Redirect {
    Redirect::to("/reviews")
}
