//! Running one stage for every workflow.

use sluice_core::Stage;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Bus, ConsumeOptions, Error, Handler, Stopped};

/// Runs `handler` over the durable consumer of `stage` for each of
/// `workflows`, one consume loop each, until `shutdown` is cancelled and every
/// loop has drained. Replicas of a service running this share the consumers.
///
/// Returns the first loop's error (after cancelling the others), or what the
/// loops settled and abandoned in total.
pub async fn run_stage<H>(
    bus: &Bus,
    stage: Stage,
    workflows: &[String],
    options: ConsumeOptions,
    handler: H,
    shutdown: CancellationToken,
) -> Result<Stopped, Error>
where
    H: Handler + Clone,
{
    let mut loops = JoinSet::new();
    for workflow in workflows {
        let consume = bus.stage_loop(stage, workflow, options).await?;
        loops.spawn(consume.run(handler.clone(), shutdown.clone()));
    }
    let mut total = Stopped::default();
    let mut first_error = None;
    while let Some(joined) = loops.join_next().await {
        match joined {
            Ok(Ok(stopped)) => {
                total.settled += stopped.settled;
                total.abandoned += stopped.abandoned;
            }
            Ok(Err(err)) => {
                shutdown.cancel();
                first_error.get_or_insert(err);
            }
            Err(join) => {
                shutdown.cancel();
                first_error.get_or_insert(Error::Config(format!("consume loop panicked: {join}")));
            }
        }
    }
    first_error.map_or(Ok(total), Err)
}
