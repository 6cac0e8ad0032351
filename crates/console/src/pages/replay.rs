//! Replaying dead letters in two steps, like `sluice dlq replay --dry-run`
//! then `sluice dlq replay`: `POST /dead-letters/replays/preview` shows what
//! would be sent (nothing is), and `POST /dead-letters/replays` starts it
//! once the operator has typed the confirmation shown.
//!
//! The preview turns the selection (one entry, or a filter) into the exact
//! ids it lists, and the confirmed form carries those ids: what is replayed
//! is what was previewed, never entries that arrived in between. The
//! preview also picks the batch id, so submitting the confirmed form twice
//! runs the same batch twice, which sends nothing new.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use ring::rand::{SecureRandom as _, SystemRandom};
use serde::Deserialize;
use sluice_ledger::{DeadLetter, DeadLetterStatus, LedgerClient};
use sluice_ops::replay::{self, Plan, Replay};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::dead_letters::{Filter, PAGE, require_operator};
use crate::pages::{layout, replay_preview};
use crate::state::AppState;

/// The way into a preview: one entry's id (or ids, comma-separated), else
/// the list's filter; a batch id when resuming one.
#[derive(Debug, Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ids: String,
    #[serde(default)]
    batch: String,
    #[serde(flatten)]
    filter: Filter,
}

/// The confirmed replay.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ids: String,
    #[serde(default)]
    batch: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    rps: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /dead-letters/replays/preview`.
pub async fn preview(signed_in: SignedIn, Form(input): Form<PreviewForm>) -> Result<Html<String>> {
    signed_in.check_csrf(&input.csrf)?;
    let session = &signed_in.session;
    require_operator(session)?;
    let selected = if input.ids.trim().is_empty() {
        let filter = input.filter.to_ledger()?;
        session
            .ledger
            .list_dead_letters(&filter)
            .await?
            .dead_letters
    } else {
        fetch(&session.ledger, &parse_ids(&input.ids)?).await?
    };
    // The ledger refuses to replay a discarded entry: leave them out here
    // rather than stop the run at the first one.
    let (entries, discarded): (Vec<_>, Vec<_>) = selected
        .into_iter()
        .partition(|d| d.status != DeadLetterStatus::Discarded);
    let batch = match input.batch.trim() {
        "" => new_batch()?,
        given => checked_batch(given)?.to_owned(),
    };
    let body = replay_preview::body(
        session,
        &entries,
        discarded.len(),
        &batch,
        &replay_preview::Draft::default(),
    );
    Ok(Html(
        layout::page("Replay preview", Some(session), body).into_string(),
    ))
}

/// `POST /dead-letters/replays`: a wrong or missing confirmation changes
/// nothing and shows the preview again with the error (422).
pub async fn start(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(input): Form<StartForm>,
) -> Result<Response> {
    signed_in.check_csrf(&input.csrf)?;
    let session = &signed_in.session;
    require_operator(session)?;
    let ids = parse_ids(&input.ids)?;
    let batch = checked_batch(input.batch.trim())?;
    let entries = fetch(&session.ledger, &ids).await?;
    let reason = input.reason.trim();
    let rps = parse_rps(&input.rps);
    let expected = replay_preview::confirmation(entries.len());
    let draft = replay_preview::Draft {
        reason: &input.reason,
        rps: &input.rps,
        reason_error: reason
            .is_empty()
            .then_some("say why: the reason is kept in the audit trail"),
        rps_error: rps
            .is_err()
            .then_some("a number of publishes per second above 0, or nothing"),
        confirm_error: (!confirmed(&input.confirm, &expected))
            .then(|| format!("type {expected} to confirm; nothing was sent")),
    };
    if draft.has_errors() {
        let body = replay_preview::body(session, &entries, 0, batch, &draft);
        let page = layout::page("Replay preview", Some(session), body).into_string();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response());
    }
    let plan = Plan {
        reason: reason.to_owned(),
        batch: batch.to_owned(),
        max_replays: 0,
        rps: rps.unwrap_or_default(),
    };
    let planned = replay::preview(&entries);
    let jetstream = state.bus.jetstream().clone();
    let run = Replay::new(session.ledger.clone(), jetstream, entries, plan);
    let started = state.replays.start(run, planned, &session.name);
    tracing::info!(
        %batch,
        entries = ids.len(),
        operator = %session.name,
        started,
        "dead-letter replay confirmed"
    );
    Ok(Redirect::to(&format!("/dead-letters/replays/{batch}")).into_response())
}

/// Whether `typed` is `expected`, ignoring case and spacing.
fn confirmed(typed: &str, expected: &str) -> bool {
    let words = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    words(typed) == words(expected)
}

/// `1,2,3` in order, each once; at most [`PAGE`].
fn parse_ids(ids: &str) -> Result<Vec<i64>> {
    let malformed =
        || Error::BadRequest("the entries to replay are malformed: start again from the list");
    let mut parsed = Vec::new();
    for id in ids.split(',').map(str::trim) {
        let id: i64 = id.parse().map_err(|_| malformed())?;
        if !parsed.contains(&id) {
            parsed.push(id);
        }
    }
    if parsed.is_empty() || parsed.len() > PAGE as usize {
        return Err(malformed());
    }
    Ok(parsed)
}

async fn fetch(ledger: &LedgerClient, ids: &[i64]) -> Result<Vec<DeadLetter>> {
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        entries.push(ledger.get_dead_letter(*id).await?.0);
    }
    Ok(entries)
}

/// Empty is no pacing; otherwise a number of publishes per second above 0.
fn parse_rps(rps: &str) -> Result<Option<f64>, ()> {
    match rps.trim() {
        "" => Ok(None),
        given => match given.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Some(r)),
            _ => Err(()),
        },
    }
}

/// A batch id safe in a URL path and the ledger.
fn checked_batch(batch: &str) -> Result<&str> {
    // Starting with a letter or digit, so `.` and `..` never reach a path.
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let leads = batch.starts_with(|c: char| c.is_ascii_alphanumeric());
    if leads && batch.len() <= 80 && batch.chars().all(safe) {
        Ok(batch)
    } else {
        Err(Error::BadRequest(
            "the batch id is malformed: start again from the list",
        ))
    }
}

/// A new batch id: when, plus random bytes, since several consoles may
/// start replays in the same millisecond.
fn new_batch() -> Result<String> {
    let mut bytes = [0_u8; 4];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Random)?;
    Ok(format!(
        "console-{}-{}",
        Utc::now().format("%Y%m%dT%H%M%S%.3f"),
        hex::encode(bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_must_be_the_phrase_shown() {
        assert!(confirmed("replay 3", "replay 3"));
        assert!(confirmed("  Replay   3 ", "replay 3"));
        assert!(!confirmed("replay 2", "replay 3"));
        assert!(!confirmed("", "replay 3"));
        assert!(!confirmed("yes", "replay 3"));
    }

    #[test]
    fn ids_are_kept_in_order_once_and_anything_else_is_refused() -> Result<()> {
        assert_eq!(parse_ids(" 4, 2,4 ,9")?, vec![4, 2, 9]);
        assert!(parse_ids("").is_err());
        assert!(parse_ids("4,x").is_err());
        let too_many: Vec<String> = (1..=i64::from(PAGE) + 1).map(|i| i.to_string()).collect();
        assert!(parse_ids(&too_many.join(",")).is_err());
        Ok(())
    }

    #[test]
    fn a_batch_id_must_be_safe_in_a_path() -> Result<()> {
        let batch = new_batch()?;
        assert_eq!(checked_batch(&batch)?, batch);
        assert!(checked_batch("b1").is_ok());
        assert!(checked_batch("").is_err());
        assert!(checked_batch("../x").is_err());
        assert!(checked_batch("..").is_err());
        assert!(checked_batch("a b").is_err());
        Ok(())
    }

    #[test]
    fn pacing_is_optional_and_positive() {
        assert_eq!(parse_rps(""), Ok(None));
        assert_eq!(parse_rps(" 2.5 "), Ok(Some(2.5)));
        assert!(parse_rps("0").is_err());
        assert!(parse_rps("-1").is_err());
        assert!(parse_rps("fast").is_err());
        assert!(parse_rps("inf").is_err());
    }
}
