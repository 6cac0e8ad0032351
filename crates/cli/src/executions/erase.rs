//! `sluice executions erase`: removes an execution's personal payload from
//! the ledger and its dead letters from the NATS streams, keeping the audit
//! skeleton.
//!
//! The ledger erases first, in one transaction, and names the stream
//! messages of the execution's dead letters; the command then deletes them.
//! The ledger names them again on a repeat, so a run cut off between the two
//! steps is finished by running it again.

use std::io::Write;

use async_nats::jetstream::{self, ErrorCode};
use clap::Args;
use serde_json::{Value, json};
use sluice_core::ExecutionId;
use sluice_ledger::{Erasure, LedgerClient, StreamMessage};

use crate::CliConfig;
use crate::error::CliError;

/// Arguments of `sluice executions erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The execution id (a UUID).
    pub id: ExecutionId,
    /// Why (required; kept in the audit trail, e.g. the erasure request's
    /// reference).
    #[arg(long)]
    pub reason: String,
    /// Show what would be erased and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// What became of one stream message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    /// Deleted now.
    Now,
    /// Already gone (expired, deleted by an earlier run, or its stream is).
    AlreadyGone,
    /// Not touched (a dry run).
    Kept,
}

impl Deleted {
    const fn as_str(self) -> &'static str {
        match self {
            Deleted::Now => "deleted",
            Deleted::AlreadyGone => "already gone",
            Deleted::Kept => "would delete",
        }
    }
}

/// Runs `sluice executions erase`.
pub async fn run(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: EraseArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    crate::error::require_reason(&args.reason)?;
    let erasure = ledger
        .erase_execution(args.id, &args.reason, args.dry_run)
        .await
        .map_err(|e| match CliError::from_ledger(&config.ledger_url, e) {
            CliError::NotFound(_) => CliError::NotFound(format!("no execution {}", args.id)),
            other => other,
        })?;
    let deleted = if args.dry_run {
        vec![Deleted::Kept; erasure.messages.len()]
    } else {
        delete_messages(config, &erasure.messages).await?
    };
    if json {
        writeln!(out, "{}", answer(args.id, args.dry_run, &erasure, &deleted))?;
    } else {
        summary(out, args.id, args.dry_run, &erasure, &deleted)?;
    }
    Ok(())
}

/// Deletes each message; one already gone is not an error.
async fn delete_messages(
    config: &CliConfig,
    messages: &[StreamMessage],
) -> anyhow::Result<Vec<Deleted>> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let unfinished = |e: &dyn std::fmt::Display| {
        CliError::Unreachable(format!(
            "the ledger erased the payload, but the stream messages could not be deleted \
             ({e}); run the command again to finish"
        ))
    };
    let client = config.connect().await.map_err(|e| unfinished(&e))?;
    let js = jetstream::new(client);
    let mut done = Vec::with_capacity(messages.len());
    for m in messages {
        let stream = js
            .get_stream_no_info(&m.stream)
            .await
            .map_err(|e| unfinished(&e))?;
        let outcome = match stream.delete_message(m.sequence).await {
            Ok(_) => Deleted::Now,
            Err(e) => match e.kind() {
                jetstream::stream::DeleteMessageErrorKind::JetStream(js_err) if gone(&js_err) => {
                    Deleted::AlreadyGone
                }
                _ => return Err(unfinished(&e).into()),
            },
        };
        done.push(outcome);
    }
    Ok(done)
}

/// The message, or its whole stream, no longer exists. Depending on where
/// the sequence lies the server says "no message found" (as such or as a
/// failed delete, 10057) or "sequence not found" (past the last message).
fn gone(err: &jetstream::Error) -> bool {
    let code = err.error_code();
    code == ErrorCode::NO_MESSAGE_FOUND
        || code == ErrorCode::SEQUENCE_NOT_FOUND
        || code == ErrorCode::STREAM_NOT_FOUND
        || (code == ErrorCode::STREAM_MESSAGE_DELETE_FAILED
            && err.to_string().contains("no message found"))
}

fn answer(id: ExecutionId, dry_run: bool, e: &Erasure, deleted: &[Deleted]) -> Value {
    let messages: Vec<Value> = e
        .messages
        .iter()
        .zip(deleted)
        .map(|(m, d)| json!({ "stream": m.stream, "sequence": m.sequence, "result": d.as_str() }))
        .collect();
    json!({
        "execution_id": id.to_string(),
        "dry_run": dry_run,
        "applied": e.applied,
        "erased_at": e.erased_at,
        "journal_entries": e.journal_entries,
        "review_items": e.review_items,
        "keys": e.keys,
        "dead_letters": e.dead_letters,
        "messages": messages,
    })
}

fn summary(
    out: &mut impl Write,
    id: ExecutionId,
    dry_run: bool,
    e: &Erasure,
    deleted: &[Deleted],
) -> std::io::Result<()> {
    let counts = format!(
        "{} journal detail(s), {} review item(s), {} key result(s), {} dead letter(s)",
        e.journal_entries, e.review_items, e.keys, e.dead_letters
    );
    match (dry_run, e.applied, e.erased_at) {
        (true, _, Some(at)) => writeln!(out, "execution {id} was already erased at {at}")?,
        (true, _, None) => writeln!(out, "would erase execution {id}: {counts}")?,
        (false, true, _) => writeln!(out, "erased execution {id}: {counts}")?,
        (false, false, at) => {
            let at = at.map(|at| format!(" at {at}")).unwrap_or_default();
            writeln!(
                out,
                "execution {id} was already erased{at}; nothing changed"
            )?;
        }
    }
    for (m, d) in e.messages.iter().zip(deleted) {
        writeln!(out, "  {} {} #{}", d.as_str(), m.stream, m.sequence)?;
    }
    Ok(())
}
