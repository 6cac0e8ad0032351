//! One benchmark run: start the systems, warm up, run the interleaved
//! plan, count the ledger's round trips, then measure the ledger alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::db::Databases;
use crate::load::Completions;
use crate::pipeline::Pipeline;
use crate::plan::{self, Load, Runner};
use crate::relay::{self, Relay};
use crate::report::Results;
use crate::{Args, cleanup, ledger_bench, rpcs, stats};

/// Runs everything `args` asks for.
pub async fn run(args: &Args, command: String) -> anyhow::Result<Results> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let prefix = format!("bench_{}", &token[..10]);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut results = Results {
        command,
        cores,
        payload: 0,
        samples: BTreeMap::new(),
        rpcs: BTreeMap::new(),
        rss: (0.0, 0.0),
        services: Vec::new(),
        ledger: Vec::new(),
    };
    if !args.ledger_only {
        let client = async_nats::connect(&args.nats_url)
            .await
            .with_context(|| format!("cannot reach NATS at {}", args.nats_url))?;
        let measured = systems(args, &client, &prefix, &mut results).await;
        for p in ["p", "b", "s"] {
            cleanup::streams(&client, &format!("{prefix}_{p}")).await?;
        }
        measured?;
    }
    let secs = if args.quick { 3 } else { args.ledger_secs };
    let dbs = Databases::create(&args.database_url, &[format!("{prefix}_l")]).await?;
    let url = dbs.url(0)?;
    // Group commit on and off back to back, in an order that alternates,
    // so the ratio compares the two under the same machine state.
    for (i, &c) in args.ledger_concurrency.iter().enumerate() {
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for group_commit in order {
            eprintln!(
                "ledger alone, concurrency {c}, pool {}, group commit {}",
                args.ledger_pool,
                if group_commit { "on" } else { "off" }
            );
            let run = ledger_bench::run(
                &url,
                args.ledger_pool,
                group_commit,
                c,
                Duration::from_secs(secs),
            );
            match run.await {
                Ok(run) => results.ledger.push(run),
                Err(err) => {
                    dbs.drop_all().await.ok();
                    return Err(err);
                }
            }
        }
    }
    dbs.drop_all().await?;
    Ok(results)
}

/// The pipeline and both relays, measured interleaved.
async fn systems(
    args: &Args,
    client: &async_nats::Client,
    prefix: &str,
    results: &mut Results,
) -> anyhow::Result<()> {
    let plan = args.plan();
    eprintln!("starting the pipeline");
    let pipeline = Pipeline::start(
        &args.nats_url,
        &args.database_url,
        &format!("{prefix}_p"),
        &args.repo,
    )
    .await?;
    let pipeline = Runner {
        completions: Completions::follow(client, pipeline.done_subject.clone()).await?,
        system: Arc::new(pipeline),
        next: AtomicU64::new(0),
    };
    let outcome = measure(args, client, prefix, &plan, &pipeline, results).await;
    let pipeline = Arc::try_unwrap(pipeline.system)
        .map_err(|_| anyhow::anyhow!("the pipeline is still in use"))?;
    pipeline.stop().await?;
    outcome
}

async fn measure(
    args: &Args,
    client: &async_nats::Client,
    prefix: &str,
    plan: &plan::Plan,
    pipeline: &Runner<Pipeline>,
    results: &mut Results,
) -> anyhow::Result<()> {
    results.rss.0 = stats::rss_mib().0;
    let warm = if args.quick { 1 } else { 3 };
    eprintln!("warming up the pipeline");
    let warmup = pipeline.closed_loop(16, Duration::from_secs(warm)).await;
    anyhow::ensure!(
        warmup.done > 0,
        "no execution finished during warm-up ({} lost)",
        warmup.lost
    );
    results.payload = pipeline.system.stage_payload_size().await?;

    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let mut relays = Vec::new();
    for (p, slots) in [("b", relay::BATCHED), ("s", relay::ONE_AT_A_TIME)] {
        let relay = Relay::start(
            client.clone(),
            &format!("{prefix}_{p}"),
            results.payload,
            slots,
            &shutdown,
        )
        .await?;
        relays.push(Runner {
            completions: Completions::follow(client, relay.done_subject.clone()).await?,
            system: Arc::new(relay),
            next: AtomicU64::new(0),
        });
    }

    // Each measurement starts on an idle system: what a load left queued
    // (an open loop past the system's capacity) is drained, or discarded
    // after a bound, before the next one.
    let drain_for = Duration::from_secs(if args.quick { 5 } else { 20 });
    let samples = plan::run(plan, |system, load: Load| {
        let relays = &relays;
        async move {
            let measured = match system {
                0 => pipeline.measure(load, plan).await,
                k => relays[k - 1].measure(load, plan).await,
            };
            let own = format!("{prefix}_{}", ["p", "b", "s"][system]);
            match cleanup::drain(client, &own, drain_for).await {
                Ok(0) => {}
                Ok(n) => eprintln!("    discarded {n} queued messages after the measurement"),
                Err(err) => eprintln!("    could not drain: {err:#}"),
            }
            measured
        }
    })
    .await;

    // Round trips on a drained, closed loop of its own: every execution
    // it starts finishes inside it, so calls / executions is exact (the
    // background calls of the breaker and the gauges aside).
    let before = rpcs::per_method(&pipeline.system.scrape().await?);
    let counted = pipeline.closed_loop(16, Duration::from_secs(warm)).await;
    let after = rpcs::per_method(&pipeline.system.scrape().await?);
    let executions = counted.done + counted.lost;
    results.rpcs = rpcs::delta(&before, &after)
        .into_iter()
        .map(|(m, n)| (m, n / executions.max(1) as f64))
        .collect();
    results.samples = samples;
    results.rss.1 = stats::rss_mib().1;
    Ok(())
}
