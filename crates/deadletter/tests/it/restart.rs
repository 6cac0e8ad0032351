//! The service down while messages are dead-lettered: the streams keep them,
//! and it indexes all of them when it starts, once.

use sluice_bus::DeliveryAdvisory;
use sluice_core::State;
use sluice_core::subjects::StreamKind;
use sluice_testkit::eventually::{self, check};

use crate::common::{DYING, Env, WAIT, WORKFLOW};

#[tokio::test]
async fn nothing_is_lost_while_the_service_is_down() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let stage = env.dead_lettering_stage().await?;
    let dying = env.dying_stage().await?;
    let (permanent, _) = env.publish(WORKFLOW, 0).await?;
    let (exhausted, exhausted_seq) = env.publish(DYING, 1).await?;

    // Both failures happen with no dead-letter service: one dead letter in
    // its stream, one max-deliveries advisory in the other.
    eventually::eventually("failures captured", WAIT, || async {
        let letters = env.stored(StreamKind::DeadLetter).await?.len();
        let advisory = env
            .stored(StreamKind::Advisories)
            .await?
            .iter()
            .filter_map(|m| DeliveryAdvisory::parse(&m.payload).ok())
            .any(|a| a.is_max_deliveries() && a.stream_seq == exhausted_seq);
        check(letters == 1 && advisory, || {
            format!("{letters} dead letters, max-deliveries advisory: {advisory}")
        })
    })
    .await?;
    dying.abort();
    assert!(env.entries().await?.is_empty());

    let service = env.start_service().await?;
    env.wait_entries(2).await?;
    env.wait_state(&permanent, State::DeadLettered).await?;
    env.wait_state(&exhausted, State::DeadLettered).await?;
    env.service_drained().await?;
    service.stop().await?;

    // Started again, its durable consumers remember what it already did.
    let service = env.start_service().await?;
    env.service_drained().await?;
    assert_eq!(env.entries().await?.len(), 2);
    assert_eq!(env.events(WORKFLOW).await?.len(), 1);
    assert_eq!(env.events(DYING).await?.len(), 1);

    stage.stop().await?;
    service.stop().await?;
    env.nats.cleanup().await
}
