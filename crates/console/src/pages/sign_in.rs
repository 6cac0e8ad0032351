//! Signing in with a ledger token (checked by the ledger's `WhoAmI`) and
//! signing out.

use std::time::Duration;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sluice_ledger::{LedgerClient, Role};
use tonic::Code;

use crate::auth::{self, SignedIn};
use crate::error::Result;
use crate::pages::layout;
use crate::state::AppState;

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

/// A form carrying only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `GET /sign-in`.
pub async fn show() -> Html<String> {
    Html(form(None).into_string())
}

/// `POST /sign-in`: asks the ledger who the token belongs to; a reviewer,
/// sre or admin gets a session, anyone else the form again. An address
/// whose failed attempts used up its allowance gets 429 without the ledger
/// being asked: guessing tokens, or flooding the ledger through the
/// console, goes nowhere.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(input): Form<SignInForm>,
) -> Response {
    let address = peer.ip().to_string();
    if let Err(wait) = state.failed_sign_ins.peek(&address) {
        tracing::warn!(%address, "sign-in: too many failed attempts");
        let message = format!(
            "Too many failed sign-ins from your address; try again in {} s.",
            wait.as_secs().max(1)
        );
        return refused(StatusCode::TOO_MANY_REQUESTS, &message);
    }
    let response = attempt(&state, input.token.trim()).await;
    if response.status().is_client_error() {
        // Counted only now: good tokens never use up the allowance.
        let _ = state.failed_sign_ins.check(&address);
    }
    response
}

async fn attempt(state: &AppState, token: &str) -> Response {
    if token.is_empty() {
        return refused(StatusCode::BAD_REQUEST, "Paste your ledger token.");
    }
    let ledger = match client(state, token) {
        Ok(ledger) => ledger,
        Err(_) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "The ledger does not accept this token.",
            );
        }
    };
    let identity = match ledger.who_am_i().await {
        Ok(identity) => identity,
        Err(sluice_ledger::Error::Status(status))
            if matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ) =>
        {
            return refused(
                StatusCode::UNAUTHORIZED,
                "The ledger does not accept this token.",
            );
        }
        Err(err) => {
            tracing::warn!(error = %err, "sign-in: the ledger cannot be reached");
            return refused(
                StatusCode::BAD_GATEWAY,
                "The ledger cannot be reached; try again later.",
            );
        }
    };
    if matches!(identity.role, Role::Service | Role::Trigger) {
        return refused(
            StatusCode::FORBIDDEN,
            "A service or trigger token cannot sign in to the console; use your own operator token.",
        );
    }
    let id = match state
        .sessions
        .create(identity.name.clone(), identity.role, ledger)
    {
        Ok(id) => id,
        Err(err) => return err.into_response(),
    };
    tracing::info!(operator = %identity.name, role = identity.role.as_str(), "signed in");
    let cookie = auth::set_cookie(&id, state.sessions.ttl().as_secs(), state.secure_cookie);
    ([(SET_COOKIE, cookie)], Redirect::to("/reviews")).into_response()
}

/// `POST /sign-out`: ends the session (CSRF-checked, so no other site can
/// sign an operator out).
pub async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(input): Form<CsrfForm>,
) -> Result<Response> {
    signed_in.check_csrf(&input.csrf)?;
    state.sessions.remove(&signed_in.id);
    let cookie = auth::clear_cookie(state.secure_cookie);
    Ok(([(SET_COOKIE, cookie)], Redirect::to("/sign-in")).into_response())
}

/// A person is waiting on every call: fail in seconds rather than retry
/// for a minute (unless the options say otherwise).
const TIMEOUT: Duration = Duration::from_secs(5);
const RETRIES: usize = 2;

fn client(state: &AppState, token: &str) -> Result<LedgerClient> {
    let mut options = state.ledger.client_options_with(TIMEOUT, RETRIES)?;
    options.token = Some(token.to_owned());
    Ok(LedgerClient::connect(options)?)
}

fn refused(status: StatusCode, why: &str) -> Response {
    (status, Html(form(Some(why)).into_string())).into_response()
}

fn form(problem: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(problem) = problem {
            p role="alert" class="warning" { (problem) }
        }
        form method="post" action="/sign-in" {
            label for="token" { "Your ledger token" }
            input type="password" id="token" name="token" autocomplete="off" required;
            button type="submit" { "Sign in" }
        }
        p { "The token is checked by the ledger and kept on the server only; the browser gets a session cookie." }
    };
    layout::page("Sign in", None, body)
}
