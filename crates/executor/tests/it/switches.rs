//! An action's kill switch holds effects at the executor: the execution
//! stays where the gate left it, the consumer is paused rather than naking
//! towards the dead-letter stream, and turning the switch on books once.

use sluice_bus::{Switch, SwitchState, Switches};
use sluice_core::{Stage, State};
use sluice_testkit::eventually::{self, eventually};

use crate::common::{Env, Setup, WAIT, WORKFLOW, contract};

fn operator(state: SwitchState) -> Switch {
    Switch {
        state,
        by: "test".into(),
        reason: "test".into(),
        at: None,
        source: "operator".into(),
        canaries: 0,
        audit_id: None,
    }
}

#[tokio::test]
async fn an_action_switch_holds_the_effect_until_it_is_on() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    let switches = Switches::open(&env.bus).await?;
    let key = format!("{WORKFLOW}.create_booking");
    switches.put(&key, &operator(SwitchState::Off)).await?;

    let envelope = env.submit(contract("wamid.held")).await?;
    eventually("the execute consumer is paused", WAIT, || async {
        let paused = env.bus.stage_paused(Stage::Execute, WORKFLOW).await?;
        eventually::check(paused, || "not paused".to_owned())
    })
    .await?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (state, _) = env.state(&envelope).await?;
    assert_eq!(state, "AUTO_ACTION_PENDING");
    assert_eq!(env.booking_counts().await?["total"], 0);

    // On releases the consumer at once (the guard watches the bucket).
    switches.put(&key, &operator(SwitchState::On)).await?;
    env.wait_state(&envelope, State::Verified).await?;
    assert_eq!(env.booking_counts().await?["total"], 1);
    env.stop().await
}
