//! Removes what a run left on the broker: every stream and KV bucket under
//! its prefix.

use futures::TryStreamExt as _;

/// Deletes the streams `<PREFIX>_…` and the buckets `<prefix>-…` of `prefix`.
pub async fn streams(client: &async_nats::Client, prefix: &str) -> anyhow::Result<()> {
    let js = async_nats::jetstream::new(client.clone());
    let streams = format!("{}_", prefix.to_ascii_uppercase());
    let buckets = format!("KV_{prefix}-");
    let names: Vec<String> = js.stream_names().try_collect().await?;
    for name in names {
        if name.starts_with(&streams) || name.starts_with(&buckets) {
            js.delete_stream(&name).await?;
        }
    }
    Ok(())
}

/// Waits until every consumer of the streams `<PREFIX>_…` of `prefix` has
/// nothing pending, for at most `wait`; then purges those streams of what
/// is still queued (the backlog of a load beyond what the system sustains)
/// and gives the handlers still busy a second to finish. Returns how many
/// queued messages were discarded. The next measurement then starts on an
/// idle system instead of on the previous one's queue.
pub async fn drain(
    client: &async_nats::Client,
    prefix: &str,
    wait: std::time::Duration,
) -> anyhow::Result<u64> {
    let js = async_nats::jetstream::new(client.clone());
    let wanted = format!("{}_", prefix.to_ascii_uppercase());
    let names: Vec<String> = js
        .stream_names()
        .try_filter(|name| std::future::ready(name.starts_with(&wanted)))
        .try_collect()
        .await?;
    let until = tokio::time::Instant::now() + wait;
    let mut discarded = 0;
    loop {
        let queued = pending(&js, &names).await?;
        if queued == 0 {
            return Ok(discarded);
        }
        if tokio::time::Instant::now() >= until {
            if discarded > 0 {
                // A purge already ran and work still trickles: leave it.
                return Ok(discarded);
            }
            for name in &names {
                js.get_stream(name).await?.purge().await?;
            }
            discarded = queued;
            // Handlers mid-message may still hand one on: one more look
            // after a moment, then the trickle is left alone.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Messages not yet finished by the consumers of `streams`.
async fn pending(js: &async_nats::jetstream::Context, streams: &[String]) -> anyhow::Result<u64> {
    let mut queued = 0;
    for name in streams {
        let stream = js.get_stream(name).await?;
        let infos: Vec<_> = stream.consumers().try_collect().await?;
        queued += infos
            .iter()
            .map(|info| info.num_pending + info.num_ack_pending as u64)
            .sum::<u64>();
    }
    Ok(queued)
}
