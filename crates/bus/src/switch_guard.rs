//! Keeps a stage's consumers paused while a kill switch holds their
//! workflow, and resumes them the moment it is released.
//!
//! A handler that meets a switch that is off naks its message with a short
//! delay and nudges the guard; the guard pauses the (stage, workflow)
//! consumer so the broker delivers nothing more — the message waits in the
//! stream instead of looping through `nak` until `max_deliver` sends it to
//! the dead-letter stream. The guard renews the pause while the switch stays
//! off, and resumes the consumer when the switch is turned on (it watches the
//! bucket, so that is immediate), when it is deleted, or when a half-open
//! switch has canaries again. Replicas each run a guard; pausing and
//! resuming are idempotent, so they agree without talking to each other.
//!
//! The guard owns the pauses of the stages it runs for: on start it resumes
//! a consumer left paused by a replica that died while a switch was off.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use sluice_core::Stage;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Bus;
use crate::error::Error;
use crate::switches::Switches;

/// Wakes a running guard to look at the switches now.
#[derive(Debug, Clone, Default)]
pub struct GuardHandle {
    nudge: Arc<Notify>,
}

impl GuardHandle {
    /// Asks the guard to re-read the switches at once (a handler just met
    /// one that is off).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }
}

/// What a guard watches and how long each pause lasts.
#[derive(Debug, Clone)]
pub struct SwitchGuard {
    bus: Bus,
    switches: Switches,
    stage: Stage,
    workflows: Vec<String>,
    pause: Duration,
    handle: GuardHandle,
}

impl SwitchGuard {
    /// A guard for `stage` of `workflows`. Each pause lasts `pause` and is
    /// renewed at half of it, so a guard that dies leaves a pause that ends
    /// by itself.
    pub fn new(
        bus: Bus,
        switches: Switches,
        stage: Stage,
        workflows: Vec<String>,
        pause: Duration,
    ) -> Self {
        Self {
            bus,
            switches,
            stage,
            workflows,
            pause: pause.max(Duration::from_secs(1)),
            handle: GuardHandle::default(),
        }
    }

    /// The handle handlers nudge the guard with.
    pub fn handle(&self) -> GuardHandle {
        self.handle.clone()
    }

    /// Runs until `shutdown`. Errors reading the bucket or pausing are
    /// logged and retried on the next tick: the handlers still check every
    /// switch themselves, so a failing guard delays items, never leaks them.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut paused = BTreeSet::new();
        let mut watch = None;
        loop {
            if watch.is_none() {
                watch = self.switches.watch().await.ok();
            }
            if let Err(e) = self.reconcile(&mut paused).await {
                tracing::warn!(stage = %self.stage, error = %e, "switch guard: will retry");
            }
            let changed = async {
                match watch.as_mut() {
                    Some(w) => w.next().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.handle.nudge.notified() => {}
                () = tokio::time::sleep(self.pause / 2) => {}
                alive = changed => if !alive { watch = None; },
            }
        }
    }

    /// Whether `switch` holds this guard's stage: the execute stage waits
    /// only for switches that are off (half-open canaries must run), every
    /// other stage also for a half-open switch with no canary left.
    fn holds(&self, switch: &crate::switches::Switch) -> bool {
        if self.stage == Stage::Execute {
            switch.holds_effects()
        } else {
            switch.holds_decisions()
        }
    }

    /// Pauses (or renews) every held workflow's consumer and resumes the
    /// rest that are paused.
    async fn reconcile(&self, paused: &mut BTreeSet<String>) -> Result<(), Error> {
        let switches = self.switches.list().await?;
        for workflow in &self.workflows {
            let prefix = format!("{workflow}.");
            let held = switches.iter().find(|s| {
                (s.key == *workflow || s.key.starts_with(&prefix)) && self.holds(&s.switch)
            });
            if let Some(held) = held {
                let until =
                    chrono::Utc::now() + chrono::Duration::from_std(self.pause).unwrap_or_default();
                self.bus.pause_stage(self.stage, workflow, until).await?;
                if paused.insert(workflow.clone()) {
                    tracing::warn!(stage = %self.stage, %workflow, switch = %held.key,
                        state = %held.switch.state, "kill switch holds work: consumer paused");
                }
            } else if paused.remove(workflow) || self.bus.stage_paused(self.stage, workflow).await?
            {
                self.bus.resume_stage(self.stage, workflow).await?;
                tracing::info!(stage = %self.stage, %workflow, "switches released: consumer resumed");
            }
        }
        Ok(())
    }
}
