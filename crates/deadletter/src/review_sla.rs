//! Review items past their SLA, made loud and escalated to their owner.
//!
//! Every check period the service asks the ledger for open review items
//! past their `sla_due_at` whose overdue event has not gone out, and for
//! each one:
//!
//! 1. announces it on `<prefix>.events.review_overdue.<workflow>`
//!    (`Nats-Msg-Id = review-overdue:<item>`);
//! 2. escalates it on `<prefix>.events.escalated.<workflow>` with the
//!    workflow's owner and how long it is overdue
//!    (`Nats-Msg-Id = review-escalated:<item>`);
//! 3. marks it in the ledger, which in the same transaction opens its
//!    escalation webhook when the workflow declares one (delivered by
//!    [`crate::escalation::deliver`]).
//!
//! A crash between a publish and the mark re-publishes copies the broker
//! drops, so any replica may run the check: the ledger's mark and the
//! Msg-Ids keep it to one event of each kind per item. The
//! `sluice_review_overdue{workflow, owner}` gauge holds the open overdue
//! count.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sluice_bus::{Bus, ExecutionEvent};
use sluice_core::metrics::{REVIEW_ESCALATIONS, REVIEW_OVERDUE, REVIEW_SLA_BREACHES};
use sluice_core::workflow::Owners;
use sluice_core::{CorrelationId, ExecutionId, State};
use sluice_ledger::{LedgerClient, ReviewItem, ReviewKind};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::escalation::Webhooks;
use crate::escalation::deliver::webhook_id;

/// How many overdue items one check announces at most.
const BATCH: u32 = 100;

/// The review SLA check of one process.
#[derive(Debug, Clone)]
pub struct SlaCheck {
    bus: Bus,
    ledger: LedgerClient,
    owners: Owners,
    webhooks: Webhooks,
}

impl SlaCheck {
    /// A check announcing on `bus`, escalating to `owners` and opening the
    /// `webhooks` that are on.
    pub fn new(bus: Bus, ledger: LedgerClient, owners: Owners, webhooks: Webhooks) -> Self {
        Self {
            bus,
            ledger,
            owners,
            webhooks,
        }
    }

    /// Checks every `every` until `shutdown`.
    pub async fn watch(self, every: Duration, shutdown: CancellationToken) {
        // Workflows seen overdue before, so their gauge drops back to zero.
        let mut seen = BTreeSet::new();
        loop {
            if let Err(e) = self.check(&mut seen).await {
                tracing::warn!(error = %e, "review SLA check failed; will retry");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One check: announce, escalate and mark every unannounced overdue
    /// item, then set the gauges; returns how many were announced.
    pub async fn check(&self, seen: &mut BTreeSet<String>) -> Result<usize, Error> {
        let overdue = self.ledger.overdue_reviews(BATCH).await?;
        for item in &overdue.unannounced {
            self.announce(item).await?;
        }
        seen.extend(overdue.open_overdue.keys().cloned());
        for workflow in seen.iter() {
            let open = overdue.open_overdue.get(workflow).copied().unwrap_or(0);
            #[allow(clippy::cast_precision_loss)] // counts of items
            metrics::gauge!(REVIEW_OVERDUE.name, "workflow" => workflow.clone(),
                "owner" => self.owners.label(workflow).to_owned())
            .set(open as f64);
        }
        Ok(overdue.unannounced.len())
    }

    async fn announce(&self, item: &ReviewItem) -> Result<(), Error> {
        let overdue = overdue_event(item);
        let msg_id = format!("review-overdue:{}", item.id);
        self.bus
            .announce_named("review_overdue", &msg_id, &overdue)
            .await?;
        let escalated = self.escalation_event(item);
        let published = self
            .bus
            .announce_named("escalated", &webhook_id(item.id), &escalated)
            .await?;
        // The webhook's payload is the stored event, so a receiver of
        // either sees the same document. Two replicas checking at once
        // each build one (their times differ) and the broker keeps the
        // first; the ledger's mark may come from either, so the one whose
        // copy was dropped sends the stored one.
        let webhook = match self.webhooks.get(&item.workflow) {
            None => None,
            Some(_) if published.duplicate => {
                let stored = self
                    .bus
                    .stored_message(&published.stream, published.sequence)
                    .await?;
                Some(serde_json::from_slice(&stored.payload).map_err(sluice_core::Error::from)?)
            }
            Some(_) => Some(serde_json::to_value(&escalated).map_err(sluice_core::Error::from)?),
        };
        self.ledger
            .mark_review_overdue_announced(item.id, webhook.as_ref())
            .await?;
        let owner = self.owners.label(&item.workflow).to_owned();
        tracing::warn!(review_item = item.id, execution_id = %item.execution_id,
            workflow = %item.workflow, %owner, webhook = webhook.is_some(),
            "review item past its SLA; escalated to its owner");
        metrics::counter!(REVIEW_SLA_BREACHES.name,
            "workflow" => item.workflow.clone(), "owner" => owner.clone())
        .increment(1);
        metrics::counter!(REVIEW_ESCALATIONS.name,
            "workflow" => item.workflow.clone(), "owner" => owner)
        .increment(1);
        Ok(())
    }

    /// The escalation: who owns the item, how to reach them, how long it
    /// is overdue. Ids and times only: nothing of the handoff.
    fn escalation_event(&self, item: &ReviewItem) -> ExecutionEvent {
        let ownership = self.owners.get(&item.workflow);
        let owner = ownership.map(|o| o.owner.as_str());
        let now = Utc::now();
        let overdue_s = item
            .sla_due_at
            .map_or(0, |due| (now - due).num_seconds().max(0));
        let to = owner.unwrap_or("nobody (the workflow declares no owner)");
        ExecutionEvent {
            outcome: format!(
                "review item {} is {overdue_s} s past its SLA; escalated to {to}",
                item.id
            ),
            detail: json!({
                "reason": "review_sla",
                "review_item": item.id,
                "kind": item.kind.as_str(),
                "owner": owner,
                "contact": ownership.and_then(|o| o.contact.as_deref()),
                "sla_due_at": item.sla_due_at.map(|d| d.to_rfc3339()),
                "opened_at": item.created_at,
                "overdue_s": overdue_s,
            }),
            at: now,
            ..overdue_event(item)
        }
    }
}

fn overdue_event(item: &ReviewItem) -> ExecutionEvent {
    let state = match item.kind {
        ReviewKind::Review => State::HumanReviewPending,
        ReviewKind::NeedsReview => State::NeedsReview,
    };
    let due = item.sla_due_at.map(|d| d.to_rfc3339());
    ExecutionEvent {
        execution_id: ExecutionId::from_uuid(item.execution_id),
        correlation_id: CorrelationId::from_upstream(Some(&item.correlation_id)),
        workflow: item.workflow.clone(),
        state,
        outcome: format!("review item {} not decided within its SLA", item.id),
        external_id: None,
        detail: json!({ "review_item": item.id, "kind": item.kind.as_str(), "sla_due_at": due,
                        "opened_at": item.created_at }),
        at: Utc::now(),
    }
}
