//! The review console on its own NATS user (`console` in
//! `deploy/nats/sluice-account.conf`) does everything it does on NATS: an
//! approval resumed over HTTP, a switch turned off and on over HTTP, and
//! dead-letter replays, made as `sluice dlq replay` makes them (the replay
//! the console runs too) with the console's credentials: one batch resumed
//! after an interruption, so the lookup for an earlier copy reads the
//! pipeline and the ingest stream, and one sent afresh. And its user is
//! denied, by name, every consumer of the declared workflows and sources.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;
use sluice_bus::{SwitchState, Switches};
use sluice_core::subjects::StreamKind;
use sluice_core::{SourceSpec, Stage, Subjects, WorkflowSpec, headers};
use sluice_ledger::{
    BeginReplay, ClientOptions, DeadLetter, DeadLetterFilter, LedgerClient, TokenTable,
};
use sluice_testkit::eventually::eventually;

use super::nats_server::ProductionNats;
use crate::stack::{Env, repo, whatsapp};

const SERVICE: &str = "perm-service-token-00000001";
const REVIEWER: &str = "perm-reviewer-token-0000001";
const SRE: &str = "perm-sre-token-000000000001";

/// The ledger's tokens: the stack's services, a reviewer and an sre.
pub fn tokens() -> anyhow::Result<TokenTable> {
    Ok(format!("{SERVICE}=service:sluice-dev,{REVIEWER}=reviewer:alice,{SRE}=sre:bob").parse()?)
}

/// One operator signed in to the console.
struct Operator {
    base: String,
    http: reqwest::Client,
    cookie: String,
}

impl Operator {
    async fn sign_in(env: &Env, token: &str) -> anyhow::Result<Self> {
        let base = format!("http://{}", env.stack.console.context("no console")?);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let resp = http
            .post(format!("{base}/sign-in"))
            .form(&[("token", token)])
            .send()
            .await?;
        ensure!(
            resp.status() == StatusCode::SEE_OTHER,
            "sign-in: {}",
            resp.status()
        );
        let cookie = resp
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no session cookie")?
            .to_owned();
        Ok(Self { base, http, cookie })
    }

    async fn page(&self, path: &str) -> anyhow::Result<String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await?;
        ensure!(
            resp.status() == StatusCode::OK,
            "GET {path}: {}",
            resp.status()
        );
        Ok(resp.text().await?)
    }

    /// Submits the form of `page` at `path` with `fields` and its CSRF token;
    /// the console answers a decision it made with a redirect.
    async fn submit(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<()> {
        let csrf = between(page, r#"name="csrf" value=""#, "\"").context("no CSRF field")?;
        let mut form = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await?;
        let status = resp.status();
        ensure!(
            status == StatusCode::SEE_OTHER,
            "POST {path}: {status}: {}",
            resp.text().await?
        );
        Ok(())
    }
}

/// The text between `start` and the next `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn ledger(env: &Env, token: &str) -> anyhow::Result<LedgerClient> {
    let mut options = ClientOptions::new(format!("http://{}", env.stack.ledger));
    options.token = Some(token.to_owned());
    Ok(LedgerClient::connect(options)?)
}

/// A reviewer approves a party of forty corrected to ten; the execution
/// resumes at the execute stage and completes.
async fn approve(env: &Env) -> anyhow::Result<()> {
    let wamid = "wamid.perm.console";
    let text = "A table for 40 tomorrow at 21:00";
    let id = env
        .accepted(wamid, &whatsapp(wamid, "34600000005", text))
        .await?;
    env.settles_in(&id, "HUMAN_REVIEW_PENDING").await?;
    let reviewer = Operator::sign_in(env, REVIEWER).await?;
    let queue = reviewer.page("/reviews").await?;
    let item = between(&queue, r#"href="/reviews/"#, "\"").context("no item in the queue")?;
    let path = format!("/reviews/{item}");
    let page = reviewer.page(&path).await?;
    let fields = [
        ("reason", "confirmed ten by phone"),
        ("set.party_size", "10"),
    ];
    reviewer
        .submit(&page, &format!("{path}/approve"), &fields)
        .await?;
    env.settles_in(&id, "COMPLETED").await?;
    Ok(())
}

/// An sre turns the reservation workflow off and on again.
async fn switch_off_and_on(env: &Env) -> anyhow::Result<()> {
    let sre = Operator::sign_in(env, SRE).await?;
    for (state, reason) in [("off", "maintenance"), ("on", "maintenance over")] {
        let page = sre.page("/switches").await?;
        let fields = [("key", "reservation"), ("state", state), ("reason", reason)];
        sre.submit(&page, "/switches", &fields).await?;
        let shown = sre.page("/switches/reservation").await?;
        ensure!(shown.contains(reason), "{shown}");
    }
    // Read back by the operator (the stack's own connection is the
    // provisioner's, which may not read switches).
    let bucket = env.nats.subjects.switches_bucket();
    let switches = Switches::open_in(&env.nats.jetstream, bucket).await?;
    let stored = switches.get("reservation").await?.context("never set")?;
    ensure!(stored.switch.state == SwitchState::On, "{stored:?}");
    Ok(())
}

/// The open dead letter of `stage` whose original subject starts with
/// `subject`, once the dead-letter service has indexed it.
async fn dead_letter(env: &Env, stage: &str, subject: &str) -> anyhow::Result<DeadLetter> {
    let sre = ledger(env, SRE)?;
    let filter = DeadLetterFilter {
        stage: Some(stage.to_owned()),
        ..Default::default()
    };
    eventually(
        &format!("a dead letter from {subject}"),
        Duration::from_secs(30),
        || async {
            let page = sre.list_dead_letters(&filter).await?;
            page.dead_letters
                .into_iter()
                .find(|d| d.subject.starts_with(subject))
                .context("none yet")
        },
    )
    .await
}

/// What an interrupted run of `batch` leaves behind for `entry`: the ledger
/// has begun it, and the copy went out (sent on the console's own user).
async fn interrupted(
    env: &Env,
    console: &async_nats::Client,
    entry: &DeadLetter,
    batch: &str,
) -> anyhow::Result<()> {
    let begin = BeginReplay {
        id: entry.id,
        reason: "cut off".into(),
        batch_id: batch.into(),
        max_replays: 0,
    };
    let ticket = ledger(env, SRE)?.begin_replay(&begin).await?;
    let execution = entry
        .execution_id
        .map_or_else(|| format!("dlq-{}", entry.id), |id| id.to_string());
    let msg_id = format!("{execution}:{}:{}", entry.stage, ticket.generation_label());
    let mut map = async_nats::HeaderMap::new();
    map.insert(headers::MSG_ID, msg_id.as_str());
    async_nats::jetstream::new(console.clone())
        .publish_with_headers(entry.subject.clone(), map, entry.payload.clone().into())
        .await?
        .await?;
    Ok(())
}

/// `sluice dlq replay ids… --batch batch` as the console: its NATS user and
/// an sre's ledger token. The outcome of each entry.
async fn replay(
    env: &Env,
    server: &ProductionNats,
    ids: &[i64],
    batch: &str,
) -> anyhow::Result<Vec<String>> {
    let nats = server.options("console");
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let envs = [
        ("SLUICE_NATS_URL", nats.url.clone()),
        ("SLUICE_NATS_NKEY_FILE", path(&nats.nkey_file)),
        ("SLUICE_NATS_INBOX_PREFIX", "_INBOX_console".to_owned()),
        ("SLUICE_NATS_TLS__REQUIRED", "true".to_owned()),
        ("SLUICE_NATS_TLS__CA_FILE", path(&nats.tls.ca_file)),
        ("SLUICE_NATS_TLS__CERT_FILE", path(&nats.tls.cert_file)),
        ("SLUICE_NATS_TLS__KEY_FILE", path(&nats.tls.key_file)),
        ("SLUICE_LEDGER_URL", format!("http://{}", env.stack.ledger)),
        ("SLUICE_LEDGER_TOKEN", SRE.to_owned()),
    ];
    let mut args: Vec<String> = ["dlq", "replay", "--reason", "permissions", "--json"]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    args.extend(["--batch".to_owned(), batch.to_owned()]);
    args.extend(ids.iter().map(i64::to_string));
    let envs = envs.map(|(k, v)| (k.to_owned(), v)).to_vec();
    let out: Value = serde_json::from_str(&crate::cli::ok(&crate::cli::run(args, envs).await))?;
    Ok(out["replayed"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["result"].as_str().unwrap_or_default().to_owned())
        .collect())
}

/// Everything the console does on NATS, with the console's own user. The
/// interpreter has dead-lettered a message already; a NATS input ingest
/// cannot parse is dead-lettered here, so both streams are replayed to.
pub async fn exercise(env: &Env, server: &ProductionNats) -> anyhow::Result<()> {
    approve(env).await?;
    switch_off_and_on(env).await?;

    let upstream = server
        .options("upstream_whatsapp")
        .connect("upstream")
        .await?;
    async_nats::jetstream::new(upstream)
        .publish("sluice.in.whatsapp.perm5", "not json".into())
        .await?
        .await?;
    let staged = dead_letter(env, "interpret", "sluice.stage.interpret.").await?;
    let input = dead_letter(env, "ingest", "sluice.in.whatsapp.").await?;
    let console = server.options("console").connect("console-test").await?;
    for entry in [&staged, &input] {
        interrupted(env, &console, entry, "perm-cut").await?;
    }
    let resumed = replay(env, server, &[staged.id, input.id], "perm-cut").await?;
    ensure!(resumed == ["found", "found"], "{resumed:?}");
    let fresh = replay(env, server, &[staged.id], "perm-again").await?;
    ensure!(fresh == ["published"], "{fresh:?}");
    Ok(())
}

/// The console's user is denied every consumer the declared workflows and
/// NATS sources have (`sluice-account.conf` names them one by one, so a new
/// workflow or source must be added there) and may replay to every NATS
/// source's input.
#[test]
fn the_console_is_refused_every_consumer_of_the_declared_topology() -> anyhow::Result<()> {
    let account = std::fs::read_to_string(repo("deploy/nats/sluice-account.conf"))?;
    let console =
        between(&account, "nkey: $SLUICE_NKEY_CONSOLE", "subscribe:").context("no console user")?;
    let denied = between(console, "deny: [", "]").context("the console denies nothing")?;
    let subjects = Subjects::new(Subjects::DEFAULT_PREFIX)?;
    let mut consumers = Vec::new();
    for workflow in WorkflowSpec::load_all(&repo("workflows"))? {
        for stage in Stage::PIPELINE {
            let name = subjects.consumer(stage, &workflow.name)?;
            consumers.push((subjects.stream(StreamKind::Pipeline), name));
        }
    }
    for source in SourceSpec::load_all(&repo("sources"))? {
        if !source.nats {
            continue;
        }
        let input = subjects.ingest_filter(&source.name)?;
        ensure!(
            console.contains(&format!("\"{input}\"")),
            "the console may not replay to {input}"
        );
        let name = subjects.consumer(Stage::Ingest, &source.name)?;
        consumers.push((subjects.stream(StreamKind::Ingest), name));
    }
    for (stream, name) in consumers {
        for subject in [
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"),
            format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.>"),
        ] {
            ensure!(
                denied.contains(&format!("\"{subject}\"")),
                "the console is not denied {subject}"
            );
        }
    }
    Ok(())
}
