//! The executor's typed configuration (defaults < file < `SLUICE_*` env < flags).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{Backoff, ConsumeOptions, NatsOptions};
pub use sluice_ledger::LedgerOptions;

/// A deliberate crash point, for tests and chaos experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failpoint {
    /// `std::process::abort()` right after the target answered and before
    /// the ledger's `Complete`: what a SIGKILL at the worst moment looks like.
    AbortAfterEffect,
    /// In-process variant: the handler stops right after the target answered
    /// without completing or failing the key (its lease then expires), and
    /// the delivery is retried. Fires once per executor instance.
    StopAfterEffect,
    /// **Breaks exactly-once effects on purpose**: the target is called
    /// again whenever the ledger answers `COMPLETED`, `IN_PROGRESS` or
    /// `UNKNOWN`, as if the effect layer did not exist. Only the chaos
    /// harness's mutant self-test uses it, to prove that its invariants catch
    /// duplicate effects. Refused at start-up unless
    /// [`Options::unsafe_marker`] equals [`UNSAFE_SKIP_LEDGER_GUARD`], so a
    /// stray `failpoint = "skip_ledger_guard"` alone cannot enable it.
    SkipLedgerGuard,
}

/// The exact value [`Options::unsafe_marker`] must hold before the
/// [`Failpoint::SkipLedgerGuard`] mutant is accepted. Deliberately a
/// sentence nobody types by accident (`SLUICE_UNSAFE_MARKER=…`).
pub const UNSAFE_SKIP_LEDGER_GUARD: &str = "i-accept-duplicate-effects";

/// Everything the executor needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// NATS connection and prefix.
    pub nats: NatsOptions,
    /// The ledger.
    pub ledger: LedgerOptions,
    /// The folder of declared workflows.
    pub workflows_dir: PathBuf,
    /// Where `/livez`, `/readyz` and `/metrics` are served (binary only).
    pub http_listen: Option<SocketAddr>,
    /// Handlers running at once per workflow.
    pub concurrency: usize,
    /// How long one pull waits for messages, in milliseconds.
    pub fetch_wait_ms: u64,
    /// How long in-flight handlers may finish after shutdown, in milliseconds.
    pub grace_ms: u64,
    /// The first redelivery backoff ceiling, in milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
    /// The lease on an idempotency key, in milliseconds; renewed by
    /// heartbeats while a call runs.
    pub lease_ms: u64,
    /// Quick in-process retries of a temporary failure within one delivery
    /// (bounded by the action's `retry.max_attempts` overall).
    pub quick_retries: u32,
    /// The owner recorded on keys; `<hostname>/<pid>/<uuid>` when unset.
    pub owner: Option<String>,
    /// Connector settings that override the workflow's, per action name
    /// (e.g. the booking service's URL in `sluice dev`).
    pub action_settings: BTreeMap<String, toml::Table>,
    /// A deliberate crash point (tests and chaos only).
    pub failpoint: Option<Failpoint>,
    /// The second key of the [`Failpoint::SkipLedgerGuard`] mutant: must
    /// equal [`UNSAFE_SKIP_LEDGER_GUARD`] (`SLUICE_UNSAFE_MARKER`); ignored
    /// otherwise.
    pub unsafe_marker: Option<String>,
    /// How long each pause of a switched-off workflow's consumer lasts, in
    /// milliseconds; renewed while the switch stays off, lifted at once when
    /// it is turned on.
    pub switch_pause_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9094))),
            concurrency: 16,
            fetch_wait_ms: 5_000,
            grace_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            lease_ms: 30_000,
            quick_retries: 2,
            owner: None,
            action_settings: BTreeMap::new(),
            failpoint: None,
            unsafe_marker: None,
            switch_pause_ms: 30_000,
        }
    }
}

impl Options {
    /// Refuses the duplicate-effect mutant unless its marker is set too.
    pub fn check_failpoint(&self) -> Result<(), crate::Error> {
        let marked = self.unsafe_marker.as_deref() == Some(UNSAFE_SKIP_LEDGER_GUARD);
        if self.failpoint == Some(Failpoint::SkipLedgerGuard) && !marked {
            return Err(crate::Error::Config(format!(
                "failpoint skip_ledger_guard repeats effects; it also needs \
                 unsafe_marker = {UNSAFE_SKIP_LEDGER_GUARD:?} (SLUICE_UNSAFE_MARKER)"
            )));
        }
        Ok(())
    }

    /// How long each kill-switch pause lasts.
    pub fn switch_pause(&self) -> Duration {
        Duration::from_millis(self.switch_pause_ms.max(1))
    }

    /// The consume-loop settings these options describe.
    pub fn consume(&self) -> ConsumeOptions {
        ConsumeOptions {
            concurrency: self.concurrency.max(1),
            fetch_wait: Duration::from_millis(self.fetch_wait_ms.max(1)),
            grace: Duration::from_millis(self.grace_ms),
            backoff: Backoff {
                base: Duration::from_millis(self.retry_base_ms),
                max: Duration::from_millis(self.retry_max_ms.max(self.retry_base_ms)),
            },
            progress_every: None,
        }
    }

    /// The key lease.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_duplicate_effect_mutant_needs_its_marker() {
        let env = |vars: &[(&str, &str)]| -> Vec<(String, String)> {
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let alone = env(&[("SLUICE_FAILPOINT", "skip_ledger_guard")]);
        let options: Options = sluice_runtime::config::load(None, alone, &[]).unwrap();
        assert_eq!(options.failpoint, Some(Failpoint::SkipLedgerGuard));
        assert!(
            options.check_failpoint().is_err(),
            "refused without the marker"
        );

        let wrong = env(&[
            ("SLUICE_FAILPOINT", "skip_ledger_guard"),
            ("SLUICE_UNSAFE_MARKER", "yes"),
        ]);
        let options: Options = sluice_runtime::config::load(None, wrong, &[]).unwrap();
        assert!(
            options.check_failpoint().is_err(),
            "refused with another marker"
        );

        let marked = env(&[
            ("SLUICE_FAILPOINT", "skip_ledger_guard"),
            ("SLUICE_UNSAFE_MARKER", UNSAFE_SKIP_LEDGER_GUARD),
        ]);
        let options: Options = sluice_runtime::config::load(None, marked, &[]).unwrap();
        assert!(options.check_failpoint().is_ok());

        // The marker alone changes nothing; other failpoints need none.
        assert!(Options::default().check_failpoint().is_ok());
        let other = Options {
            failpoint: Some(Failpoint::StopAfterEffect),
            ..Options::default()
        };
        assert!(other.check_failpoint().is_ok());
    }
}
