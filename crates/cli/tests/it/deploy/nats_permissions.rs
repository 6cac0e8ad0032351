//! The production NATS configuration (`deploy/nats/`): it passes the
//! server's own config test; on a three-node cluster running it, every
//! service with its own user carries a message end to end (webhook and
//! NATS input, and a dead letter), the review console does all it does
//! (`console_user.rs`), and no user may publish or subscribe outside its
//! permissions (the table below).

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::{Event, ServerError};
use futures::StreamExt as _;
use serde_json::Value;
use sluice_bus::Publisher;
use sluice_core::envelope::ENVELOPE_VERSION;
use sluice_core::{CorrelationId, Envelope, ExecutionId, Stage, Subjects};
use sluice_testkit::TestNats;

use super::nats_server::{ProductionNats, Secrets, USERS};
use crate::stack::{Env, repo, whatsapp};

#[test]
#[ignore = "needs nats-server 2.15: run scripts/check-deploy.sh"]
fn the_production_config_passes_the_servers_config_test() -> anyhow::Result<()> {
    let secrets = Secrets::generate()?;
    let out = secrets.config_test()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "nats-server -t failed:\n{text}");
    assert!(text.contains("is valid"), "{text}");
    Ok(())
}

/// Who may do what: one row per probe, one column per user in [`USERS`]
/// order (ingest, interpreter, gate, executor, notifier, deadletter,
/// console, provisioner, upstream_whatsapp, upstream_crm, operator); `x` is
/// allowed.
const EXPECTED: &str = "\
pub sluice.in.whatsapp.probe                                                .  .  .  .  .  .  x  .  x  .  x
pub sluice.in.crm.probe                                                     .  .  .  .  .  .  x  .  .  x  x
pub sluice.stage.interpret.probe                                            x  .  .  .  .  .  x  .  .  .  x
pub sluice.stage.gate.probe                                                 .  x  .  .  .  .  x  .  .  .  x
pub sluice.stage.execute.probe                                              .  .  x  .  .  .  x  .  .  .  x
pub sluice.stage.notify.probe                                               .  .  x  x  .  .  x  .  .  .  x
pub sluice.dlq.gate.probe                                                   .  .  x  .  .  x  .  .  .  .  x
pub sluice.events.completed.probe                                           .  x  x  x  x  .  .  .  .  .  x
pub sluice.events.dead_lettered.probe                                       .  x  x  x  x  x  .  .  .  .  x
pub sluice.events.review_overdue.probe                                      .  x  x  x  x  x  .  .  .  .  x
pub sluice.events.escalated.probe                                           .  x  x  x  x  x  .  .  .  .  x
pub $KV.sluice-switches.probe                                               .  .  x  .  .  .  x  .  .  .  x
pub $KV.sluice-conversations.probe                                          .  x  x  .  .  .  .  .  .  .  .
pub $JS.API.STREAM.INFO.SLUICE_PIPELINE                                     .  .  .  .  .  x  .  x  .  .  x
pub $JS.API.CONSUMER.LIST.SLUICE_PIPELINE                                   .  .  .  .  .  x  .  .  .  .  x
pub $JS.API.STREAM.CREATE.SLUICE_PIPELINE                                   .  .  .  .  .  .  .  x  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_PIPELINE.probe                           .  .  .  .  .  .  .  x  .  .  x
pub $JS.API.CONSUMER.INFO.SLUICE_PIPELINE.sluice-interpret-reservation      .  x  .  .  .  .  x  x  .  .  x
pub $JS.API.CONSUMER.MSG.NEXT.SLUICE_PIPELINE.sluice-notify-reservation     .  .  .  .  x  .  .  .  .  .  x
pub $JS.API.CONSUMER.MSG.NEXT.SLUICE_PIPELINE.sluice-execute-crm-enrichment .  .  .  x  .  .  .  .  .  .  x
pub $JS.API.CONSUMER.INFO.SLUICE_INGEST.sluice-ingest-whatsapp              x  .  .  .  .  .  x  x  .  .  x
pub $JS.API.CONSUMER.INFO.SLUICE_INGEST.sluice-ingest-crm                   x  .  .  .  .  .  x  x  .  .  x
pub $JS.API.STREAM.MSG.GET.SLUICE_PIPELINE                                  .  .  .  .  .  x  .  .  .  .  x
pub $JS.API.STREAM.INFO.SLUICE_DLQ                                          .  .  .  .  .  x  .  x  .  .  x
pub $JS.ACK.SLUICE_PIPELINE.sluice-gate-reservation.probe                   .  .  x  .  .  .  .  .  .  .  x
pub sluice.in.other.probe                                                   .  .  .  .  .  .  .  .  .  .  x
pub $JS.API.STREAM.INFO.KV_sluice-switches                                  .  .  x  x  .  .  x  x  .  .  x
pub $JS.API.DIRECT.GET.KV_sluice-switches.$KV.sluice-switches.reservation   .  .  x  x  .  .  x  .  .  .  x
pub $JS.API.CONSUMER.CREATE.KV_sluice-switches                              .  .  x  x  .  .  x  .  .  .  x
pub $KV.sluice-schedules.probe                                              x  .  .  .  .  .  .  .  .  .  .
pub $JS.API.STREAM.INFO.KV_sluice-schedules                                 x  .  .  .  .  .  .  x  .  .  x
pub $JS.API.STREAM.CREATE.KV_sluice-schedules                               .  .  .  .  .  .  .  x  .  .  x
pub $JS.API.STREAM.NAMES                                                    .  .  .  .  .  .  x  .  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_PIPELINE                                 .  .  .  .  .  .  .  .  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_INGEST                                   .  .  .  .  .  .  .  .  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_PIPELINE.lookup-1.sluice.stage.gate.x    .  .  .  .  .  .  x  x  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_INGEST.lookup-1.sluice.in.crm.x          .  .  .  .  .  .  x  x  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_INGEST.sluice-ingest-crm.sluice.in.crm.x .  .  .  .  .  .  .  x  .  .  x
pub $JS.API.CONSUMER.CREATE.SLUICE_DLQ                                      .  .  .  .  .  .  .  .  .  .  x
pub $JS.API.CONSUMER.INFO.SLUICE_PIPELINE.probe                             .  .  .  .  .  .  x  x  .  .  x
pub $JS.API.CONSUMER.MSG.NEXT.SLUICE_PIPELINE.probe                         .  .  .  .  .  .  x  .  .  .  x
pub $JS.API.CONSUMER.MSG.NEXT.SLUICE_INGEST.probe                           .  .  .  .  .  .  x  .  .  .  x
pub $JS.API.CONSUMER.MSG.NEXT.SLUICE_INGEST.sluice-ingest-crm               x  .  .  .  .  .  .  .  .  .  x
pub $JS.API.CONSUMER.DELETE.SLUICE_PIPELINE.probe                           .  .  .  .  .  .  .  .  .  .  x
sub sluice.stage.gate.reservation                                           .  .  .  .  .  .  .  .  .  .  .
sub sluice.in.whatsapp.probe                                                .  .  .  .  .  .  .  .  .  .  .
sub sluice.events.completed.reservation                                     .  .  .  .  .  .  .  .  x  .  x
sub sluice.events.completed.crm-enrichment                                  .  .  .  .  .  .  .  .  .  x  x
sub sluice.events.escalated.reservation                                     .  .  .  .  .  .  .  .  x  .  x
sub sluice.events.completed.other                                           .  .  .  .  .  .  .  .  .  .  x
sub _INBOX.probe                                                            .  .  .  .  .  .  .  .  .  .  .
sub _INBOX_gate.probe                                                       .  .  x  .  .  .  .  .  .  .  .
sub _INBOX_ingest.probe                                                     x  .  .  .  .  .  .  .  .  .  .
sub _INBOX_console.probe                                                    .  .  .  .  .  .  x  .  .  .  .
sub $JS.API.>                                                               .  .  .  .  .  .  .  .  .  .  .";

/// One probe: `pub` or `sub`, and the subject.
fn probes() -> Vec<(String, String)> {
    EXPECTED
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect()
}

/// The probes `user` was refused, by the server's permission errors.
async fn refused(server: &ProductionNats, user: &str) -> anyhow::Result<BTreeSet<String>> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = server
        .options(user)
        .connect_options(&format!("probe-{user}"))
        .await?
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(ServerError::Other(text)) = event {
                    let _ = tx.send(text.to_ascii_lowercase());
                }
            }
        })
        .connect(server.options(user).servers())
        .await?;
    let mut subscriptions = Vec::new();
    for (op, subject) in probes() {
        if op == "pub" {
            client.publish(subject, "".into()).await?;
        } else {
            subscriptions.push(client.subscribe(subject).await?);
        }
    }
    client.flush().await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut errors = Vec::new();
    while let Ok(text) = rx.try_recv() {
        errors.push(text);
    }
    let refused = probes()
        .into_iter()
        .filter(|(op, subject)| {
            let verb = if op == "pub" {
                "publish"
            } else {
                "subscription"
            };
            let needle = format!("{verb} to \"{}\"", subject.to_ascii_lowercase());
            errors.iter().any(|e| e.contains(&needle))
        })
        .map(|(op, subject)| format!("{op} {subject}"))
        .collect();
    drop(subscriptions);
    Ok(refused)
}

/// The table as observed, in the layout of [`EXPECTED`].
fn table(refused: &[BTreeSet<String>]) -> String {
    probes()
        .iter()
        .map(|(op, subject)| {
            let key = format!("{op} {subject}");
            let cells: Vec<&str> = refused
                .iter()
                .map(|r| if r.contains(&key) { "." } else { "x" })
                .collect();
            format!("{key:<75} {}", cells.join("  "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn normalise(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
#[ignore = "needs nats-server 2.15: run scripts/check-deploy.sh"]
async fn each_service_works_with_its_own_user_and_nothing_more() -> anyhow::Result<()> {
    let server = ProductionNats::start().await?;
    let operator = server.options("operator").connect("sluice-test").await?;
    let nats = TestNats {
        url: server.url.clone(),
        jetstream: async_nats::jetstream::new(operator.clone()),
        client: operator,
        subjects: Subjects::new(Subjects::DEFAULT_PREFIX)?,
    };
    let tokens = super::console_user::tokens()?;
    let env = Env::start_with(nats, Duration::from_secs(60), repo("workflows"), |o| {
        o.nats = server.options("provisioner");
        // The console signs operators in with their ledger tokens.
        o.ledger_tokens = tokens.clone();
        o.console_listen = Some(([127, 0, 0, 1], 0).into());
        for service in USERS.iter().take(7) {
            o.service_nats
                .insert((*service).to_owned(), server.options(service));
        }
        if let Some(topology) = o.topology.as_mut() {
            // Production: three replicas of every stream and bucket.
            topology.streams = topology.streams.with_replicas(3);
            topology.switches_replicas = 3;
        }
    })
    .await?;

    // An upstream follows what becomes of its events.
    let upstream = server
        .options("upstream_whatsapp")
        .connect("upstream")
        .await?;
    let mut events = upstream.subscribe("sluice.events.*.reservation").await?;

    // A webhook, end to end.
    let msg = whatsapp(
        "wamid.perm1",
        "34600000001",
        "A table for 2 tomorrow at 21:00",
    );
    let id = env.accepted("wamid.perm1", &msg).await?;
    env.settles_in(&id, "COMPLETED").await?;

    // The same over NATS input, published by the upstream's own user.
    let js = async_nats::jetstream::new(upstream.clone());
    let msg = whatsapp(
        "wamid.perm2",
        "34600000002",
        "A table for 3 tomorrow at 20:00",
    );
    js.publish("sluice.in.whatsapp.perm2", serde_json::to_vec(&msg)?.into())
        .await?
        .await?;
    let id = ExecutionId::derive("whatsapp", "wamid.perm2", "reservation").to_string();
    env.settles_in(&id, "COMPLETED").await?;

    // A CRM enrichment over NATS, by the CRM's own user, into the example CRM.
    let crm = server
        .options("upstream_crm")
        .connect("upstream-crm")
        .await?;
    let enrichment = serde_json::json!({"id": "evt-perm4", "account_id": "acc-42",
        "website_text": "We have 40 employees.", "sales_notes": ""});
    async_nats::jetstream::new(crm)
        .publish(
            "sluice.in.crm.perm4",
            serde_json::to_vec(&enrichment)?.into(),
        )
        .await?
        .await?;
    let id = ExecutionId::derive("crm", "evt-perm4", "crm-enrichment").to_string();
    env.settles_in(&id, "COMPLETED").await?;

    // A message no stage can read (an envelope version from the future) is
    // dead-lettered by the interpreter, indexed by the dead-letter service
    // and announced.
    let mut unreadable = Envelope::new(
        "whatsapp",
        "wamid.perm3",
        "reservation",
        CorrelationId::from_upstream(None),
        chrono::Utc::now(),
        whatsapp("wamid.perm3", "34600000003", "A table for 4"),
    );
    unreadable.version = ENVELOPE_VERSION + 1;
    let publisher = Publisher::new(env.nats.jetstream.clone(), env.nats.subjects.clone());
    publisher
        .envelope_to_stage(&unreadable, Stage::Interpret, "0", None)
        .await?;
    let announced = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = events.next().await {
            if event.subject.as_str() == "sluice.events.dead_lettered.reservation" {
                return Some(event);
            }
        }
        None
    })
    .await?;
    let announced: Value =
        serde_json::from_slice(&announced.map(|m| m.payload).unwrap_or_default())?;
    assert_eq!(
        announced["execution_id"],
        unreadable.execution_id.to_string()
    );

    // KEDA's scaler reads each consumer's pending count from the
    // monitoring port, in the account its ScaledObjects name.
    let jsz: Value = reqwest::get(format!(
        "http://127.0.0.1:{}/jsz?acc=SLUICE&consumers=true",
        server.monitor_port
    ))
    .await?
    .json()
    .await?;
    let consumers: BTreeSet<&str> = jsz["account_details"][0]["stream_detail"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["consumer_detail"].as_array().into_iter().flatten())
        .filter(|c| c["num_pending"].is_u64())
        .filter_map(|c| c["name"].as_str())
        .collect();
    for workflow in ["reservation", "crm-enrichment"] {
        for stage in ["interpret", "gate", "execute", "notify"] {
            let name = format!("sluice-{stage}-{workflow}");
            assert!(
                consumers.contains(name.as_str()),
                "{name} not in {consumers:?}"
            );
        }
    }

    // The review console approves, turns a switch off and on, and replays
    // dead letters to a stage and to ingest's input.
    super::console_user::exercise(&env, &server).await?;

    // Nothing the pipeline or the console did was refused along the way.
    let log = server.log_text();
    let violations: Vec<&str> = log.lines().filter(|l| l.contains("Violation")).collect();
    assert!(violations.is_empty(), "{}", violations.join("\n"));

    // And each user is refused everything outside its permissions.
    let mut observed = Vec::new();
    for user in USERS {
        observed.push(refused(&server, user).await?);
    }
    let table = table(&observed);
    let columns: Vec<&str> = USERS.iter().map(|u| &u[..2]).collect();
    println!(
        "service × subject (x allowed, . refused)\n{:<75} {}\n{table}",
        USERS.join(" "),
        columns.join(" ")
    );
    assert!(
        normalise(&table) == normalise(EXPECTED),
        "observed:\n{table}\nexpected:\n{EXPECTED}"
    );
    env.stop().await
}
