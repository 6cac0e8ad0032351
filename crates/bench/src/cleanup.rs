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
