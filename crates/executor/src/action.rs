//! One action under the ledger's guard: `Begin`, then the key-state table.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_bus::observe::{Layer, prevented_duplicate};
use sluice_core::pipeline::ActionRecord;
use sluice_core::workflow::{ActionSpec, AmbiguityPolicy};
use sluice_core::{Envelope, FailureClass, Stage};
use sluice_ledger::{BeginOutcome, BeginRequest, FailureKind};

use crate::attempt::{self, Attempted};
use crate::connector::{Applied, Probed};
use crate::service::Inner;
use crate::settings::{ActionSettings, Target};

/// The longest a delivery waits before asking again about a key someone
/// else holds.
const IN_PROGRESS_RECHECK: Duration = Duration::from_secs(1);

/// One action, rendered and ready to claim.
pub(crate) struct Action<'a> {
    pub(crate) envelope: &'a Envelope,
    pub(crate) spec: &'a ActionSpec,
    pub(crate) settings: &'a ActionSettings,
    pub(crate) key: String,
    pub(crate) body: Value,
    pub(crate) fingerprint: String,
    /// For a compensation: the key of the effect it undoes (`key` is then
    /// `<that key>:compensate`).
    pub(crate) reverts: Option<String>,
}

/// What happened to one action.
#[derive(Debug)]
pub(crate) enum Step {
    /// Done (now or before): its record.
    Done(ActionRecord),
    /// Someone else holds the key: come back after this long.
    Wait(Duration),
    /// A temporary failure; `exhausted` when the policy allows no more tries.
    Temporary { reason: String, exhausted: bool },
    /// The effect may or may not have happened: a person decides.
    Unknown { reason: String, detail: Value },
    /// It failed for good, or the key conflicts: a person decides.
    Permanent { reason: String, detail: Value },
    /// The in-process failpoint fired after the effect, before `Complete`.
    Crashed,
}

/// What a delivery fails with when [`Step::Crashed`]: the bus retries it, as
/// it would a delivery whose process died there.
pub(crate) const CRASHED: &str = "failpoint stop_after_effect: stopped before Complete";

impl Action<'_> {
    /// Claims the key and acts on the ledger's answer.
    pub(crate) async fn run(&self, inner: &Inner) -> Result<Step, sluice_ledger::Error> {
        let answer = inner
            .ledger
            .begin(&self.begin(inner, self.settings.honours_keys))
            .await?;
        tracing::debug!(answer = answer_name(&answer), "ledger begin");
        if inner.skips_ledger_guard() && !matches!(answer, BeginOutcome::Started { .. }) {
            return Ok(attempt::mutant_repeat(inner, self).await);
        }
        Ok(match answer {
            BeginOutcome::Started {
                fencing_token,
                resume_from,
                ..
            } => {
                let calls_before = resume_from
                    .as_ref()
                    .and_then(|r| r.get("calls"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                self.perform(inner, fencing_token, calls_before).await?
            }
            BeginOutcome::Completed { result } => {
                prevented_duplicate(Layer::Ledger, Stage::Execute);
                tracing::info!("prevented duplicate: the ledger holds the result");
                Step::Done(self.record(&Applied::from_result(result.as_ref()), true))
            }
            BeginOutcome::InProgress {
                lease_expires_at, ..
            } => {
                // Someone holds the key: this delivery must not act too. It
                // looks again soon rather than at the lease's end: a live
                // holder usually finishes in milliseconds, and the repeat
                // then answers with its result.
                prevented_duplicate(Layer::Ledger, Stage::Execute);
                let left = (lease_expires_at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or_default();
                Step::Wait(left.min(IN_PROGRESS_RECHECK) + Duration::from_millis(100))
            }
            BeginOutcome::Unknown { reason, last_owner } => {
                self.expired_unknown(inner, reason, last_owner).await?
            }
            BeginOutcome::FailedPermanent { reason } => Step::Permanent {
                detail: self.detail("failed_permanent", &reason),
                reason,
            },
            BeginOutcome::Conflict {
                recorded_fingerprint,
            } => {
                let reason = "the key was used before with different arguments".to_owned();
                let mut detail = self.detail("conflict", &reason);
                detail["recorded_fingerprint"] = json!(recorded_fingerprint);
                detail["fingerprint"] = json!(self.fingerprint);
                Step::Permanent { reason, detail }
            }
        })
    }

    fn begin(&self, inner: &Inner, honours: bool) -> BeginRequest {
        BeginRequest {
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            owner: inner.owner.clone(),
            lease: inner.lease,
            execution_id: Some(self.envelope.execution_id),
            target_honours_keys: honours,
            supersede_review: None,
        }
    }

    /// We hold the key: record the intention, call, store the result.
    async fn perform(
        &self,
        inner: &Inner,
        token: i64,
        calls_before: u64,
    ) -> Result<Step, sluice_ledger::Error> {
        inner.ledger.mark_attempted(&self.key, token).await?;
        let max = u64::from(self.spec.retry.max_attempts);
        let budget = max
            .saturating_sub(calls_before)
            .clamp(1, u64::from(inner.quick_retries) + 1);
        let Attempted { called, calls } = attempt::with_heartbeat(
            inner,
            &self.key,
            token,
            attempt::quick_retries(inner, self, budget),
        )
        .await;
        let calls_total = calls_before + calls;
        match called {
            crate::connector::Called::Applied(applied) => {
                if inner.failpoint_fires() {
                    return Ok(Step::Crashed);
                }
                inner
                    .ledger
                    .complete(&self.key, token, Some(applied.to_result()))
                    .await?;
                Ok(Step::Done(self.record(&applied, false)))
            }
            crate::connector::Called::Failed {
                class: FailureClass::Temporary,
                reason,
            } => self.fail_temporary(inner, token, reason, calls_total).await,
            crate::connector::Called::Failed {
                class: FailureClass::Permanent,
                reason,
            } => {
                let point = Some(json!({ "calls": calls_total }));
                let kind = FailureKind::Permanent;
                inner
                    .ledger
                    .fail(&self.key, token, kind, &reason, point)
                    .await?;
                Ok(Step::Permanent {
                    detail: self.detail("target_refused", &reason),
                    reason,
                })
            }
            // An answer nobody expected (a redirect, a 1xx) is treated like
            // silence: the key stays in progress with the effect attempted.
            crate::connector::Called::Failed {
                class: FailureClass::Unknown,
                reason,
            }
            | crate::connector::Called::Ambiguous { reason } => {
                if self.settings.honours_keys {
                    // The same key may be sent again: that is what honouring means.
                    return self.fail_temporary(inner, token, reason, calls_total).await;
                }
                self.resolve_held(inner, token, reason, calls_total).await
            }
        }
    }

    async fn fail_temporary(
        &self,
        inner: &Inner,
        token: i64,
        reason: String,
        calls_total: u64,
    ) -> Result<Step, sluice_ledger::Error> {
        let point = Some(json!({ "calls": calls_total }));
        let kind = FailureKind::Recoverable;
        inner
            .ledger
            .fail(&self.key, token, kind, &reason, point)
            .await?;
        let exhausted = calls_total >= u64::from(self.spec.retry.max_attempts);
        if !exhausted {
            attempt::count_retry(self);
        }
        Ok(Step::Temporary { reason, exhausted })
    }

    /// An ambiguous answer while we still hold the key.
    async fn resolve_held(
        &self,
        inner: &Inner,
        token: i64,
        reason: String,
        calls_total: u64,
    ) -> Result<Step, sluice_ledger::Error> {
        if self.spec.on_ambiguous == AmbiguityPolicy::Probe
            && let Some(probed) = inner.connectors.probe(self.settings, &self.key).await
        {
            return self
                .apply_probe(inner, token, probed, reason, calls_total)
                .await;
        }
        Ok(self.unknown(reason, "ambiguous_answer"))
    }

    /// The ledger said UNKNOWN: a holder's lease expired after it may have
    /// called a target that ignores keys.
    async fn expired_unknown(
        &self,
        inner: &Inner,
        reason: String,
        last_owner: String,
    ) -> Result<Step, sluice_ledger::Error> {
        // A target that can say whether it holds the key: an HTTP status
        // endpoint, or a postgres target's own key row.
        let probe = matches!(
            self.settings.target,
            Target::Http {
                probe_url: Some(_),
                ..
            } | Target::Postgres(_)
        );
        if self.spec.on_ambiguous != AmbiguityPolicy::Probe || !probe {
            let mut step = self.unknown(reason, "ledger_unknown");
            if let Step::Unknown { detail, .. } = &mut step {
                detail["last_owner"] = json!(last_owner);
            }
            return Ok(step);
        }
        // Take the key back for resolution only (the target is asked, never
        // called): a Begin that declares the key honoured restarts it while
        // keeping `effect_attempted`.
        match inner.ledger.begin(&self.begin(inner, true)).await? {
            BeginOutcome::Started { fencing_token, .. } => {
                let probed = inner.connectors.probe(self.settings, &self.key).await;
                let probed = probed.unwrap_or(Probed::Failed("no probe".into()));
                self.apply_probe(inner, fencing_token, probed, reason, 0)
                    .await
            }
            _ => Ok(Step::Wait(Duration::from_secs(1))),
        }
    }

    async fn apply_probe(
        &self,
        inner: &Inner,
        token: i64,
        probed: Probed,
        reason: String,
        calls_total: u64,
    ) -> Result<Step, sluice_ledger::Error> {
        match probed {
            Probed::Found(applied) => {
                tracing::info!("ambiguous outcome resolved by probe: the effect happened");
                inner
                    .ledger
                    .complete(&self.key, token, Some(applied.to_result()))
                    .await?;
                Ok(Step::Done(self.record(&applied, false)))
            }
            Probed::NotFound => {
                let why = format!("{reason}; the probe found nothing, so it is safe to retry");
                self.fail_temporary(inner, token, why, calls_total).await
            }
            Probed::Failed(probe) => Ok(self.unknown(format!("{reason}; {probe}"), "probe_failed")),
        }
    }

    fn unknown(&self, reason: String, what: &str) -> Step {
        Step::Unknown {
            detail: self.detail(what, &reason),
            reason,
        }
    }

    /// What a reviewer needs: which action, which key, where it went, why.
    fn detail(&self, what: &str, reason: &str) -> Value {
        let target = match &self.settings.target {
            Target::Http { url, .. } => url.clone(),
            Target::Nats { subject } => subject.clone(),
            // The table, never the database URL (it holds a password).
            Target::Postgres(pg) => format!("postgres table {}", pg.table),
        };
        json!({
            "action": self.spec.name,
            "key": self.key,
            "connector": self.spec.connector,
            "target": target,
            "honours_idempotency_key": self.settings.honours_keys,
            "on_ambiguous": self.spec.on_ambiguous,
            "what": what,
            "reason": reason,
        })
    }

    pub(crate) fn record(&self, applied: &Applied, prevented_duplicate: bool) -> ActionRecord {
        ActionRecord {
            action: self.spec.name.clone(),
            key: self.key.clone(),
            external_id: applied.external_id.clone(),
            response: json!({ "status": applied.status, "body": applied.body }),
            prevented_duplicate,
        }
    }
}

fn answer_name(answer: &BeginOutcome) -> &'static str {
    match answer {
        BeginOutcome::Started { .. } => "started",
        BeginOutcome::InProgress { .. } => "in_progress",
        BeginOutcome::Completed { .. } => "completed",
        BeginOutcome::Unknown { .. } => "unknown",
        BeginOutcome::FailedPermanent { .. } => "failed_permanent",
        BeginOutcome::Conflict { .. } => "conflict",
    }
}
