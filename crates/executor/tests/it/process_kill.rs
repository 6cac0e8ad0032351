//! The real `sluice-executor` binary killed by its `abort_after_effect`
//! failpoint after the booking call and before `Complete`; a second executor
//! learns from the ledger what happened. Unlike `crash.rs`, nothing of the
//! first executor survives: its heartbeats, its in-memory state and its
//! unacked message die with the process.

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use sluice_core::State;
use sluice_executor::{Executor, Options};
use sluice_ledger::BeginOutcome;
use sluice_testkit::eventually;

use crate::common::{Env, Setup, WAIT, contract, key_of};

/// Short, so the test waits little for the killed holder's lease to expire.
const LEASE_MS: u64 = 1_500;
/// The key owner the killed process records (and the ledger names back).
const KILLED: &str = "killed-executor";
/// The key owner of the executor that comes after it.
const SECOND: &str = "second-executor";
const SIGABRT: i32 = 6;

fn setup(honour: bool) -> Setup {
    Setup {
        honour,
        lease_ms: LEASE_MS,
        in_process: false,
        // The killed process never acks: redelivery comes after ack_wait.
        ack_wait: Duration::from_secs(3),
        ..Setup::default()
    }
}

#[tokio::test]
async fn killed_with_keys_ignored_the_ledger_answers_unknown() -> anyhow::Result<()> {
    let (id, key) = ("wamid.kill1", key_of("wamid.kill1"));
    let mut env = Env::start(setup(false)).await?;
    let envelope = env.submit(contract(id)).await?;
    let scratch = Scratch::new(&env, false)?;
    killed_after_effect(&env, &scratch, &key).await?;

    // Once the dead holder's lease runs out, a fresh Begin for a target that
    // ignores keys is answered UNKNOWN, naming the killed process.
    let answer = eventually("the killed holder's lease expired", WAIT, || async {
        match env.begin_answer(&key, &contract(id), false).await? {
            BeginOutcome::InProgress { owner, .. } if owner == KILLED => {
                anyhow::bail!("still leased by {owner}")
            }
            other => Ok(other),
        }
    })
    .await?;
    let BeginOutcome::Unknown { last_owner, .. } = answer else {
        panic!("expected UNKNOWN, got {answer:?}");
    };
    assert_eq!(last_owner, KILLED);

    env.spawn(second_executor(&scratch).await?);
    let journal = env.wait_state(&envelope, State::NeedsReview).await?;
    assert!(journal.contains(&"EFFECT_UNKNOWN".into()), "{journal:?}");
    assert!(!journal.contains(&"ACTION_COMPLETED".into()), "{journal:?}");
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1, "no second booking: {counts}");
    let answer = env.begin_answer(&key, &contract(id), false).await?;
    assert!(matches!(answer, BeginOutcome::Unknown { .. }), "{answer:?}");
    let record = env.key(&key).await?;
    assert_eq!(record.state, "in_progress", "nobody took the key over");
    assert_eq!(record.attempts, 1);
    let event = env.announced(State::NeedsReview).await?;
    assert_eq!(event["detail"]["what"], "ledger_unknown");
    assert_eq!(event["detail"]["last_owner"], KILLED);
    env.stop().await
}

#[tokio::test]
async fn killed_with_keys_honoured_is_retried_with_the_same_key() -> anyhow::Result<()> {
    let (id, key) = ("wamid.kill2", key_of("wamid.kill2"));
    let mut env = Env::start(setup(true)).await?;
    let envelope = env.submit(contract(id)).await?;
    let scratch = Scratch::new(&env, true)?;
    killed_after_effect(&env, &scratch, &key).await?;

    env.spawn(second_executor(&scratch).await?);
    let journal = env.wait_state(&envelope, State::Verified).await?;
    assert!(!journal.contains(&"EFFECT_UNKNOWN".into()), "{journal:?}");
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1, "{counts}");
    assert_eq!(counts["by_key"][&key], 1, "{counts}");
    let record = env.key(&key).await?;
    assert_eq!(record.state, "completed");
    assert_eq!(record.owner, SECOND, "taken over from the killed process");
    assert_eq!(record.attempts, 2, "retried once, with the same key");
    let answer = env.begin_answer(&key, &contract(id), true).await?;
    let BeginOutcome::Completed { result } = answer else {
        panic!("expected COMPLETED, got {answer:?}");
    };
    assert_eq!(
        result, record.result,
        "a later Begin gets the stored result"
    );
    env.stop().await
}

/// Runs the binary with the abort failpoint until it dies, and checks what
/// it left behind: one booking and a key still held by it, effect attempted.
async fn killed_after_effect(env: &Env, scratch: &Scratch, key: &str) -> anyhow::Result<()> {
    let mut child = ChildExecutor::start(scratch)?;
    let status = child.wait_exit().await?;
    assert_eq!(status.signal(), Some(SIGABRT), "{status:?}");
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1, "the booking call happened: {counts}");
    let record = env.key(key).await?;
    assert_eq!(record.state, "in_progress", "Complete never ran");
    assert!(record.effect_attempted);
    assert_eq!(record.owner, KILLED);
    assert_eq!(record.attempts, 1);
    Ok(())
}

/// An in-process executor loaded from the same file and environment as the
/// binary (through the binary's loader), without the failpoint.
async fn second_executor(scratch: &Scratch) -> anyhow::Result<Executor> {
    let mut options: Options =
        sluice_runtime::config::load(Some(&scratch.config()), scratch.env(SECOND, false), &[])?;
    options.http_listen = None;
    assert_eq!(options.failpoint, None);
    Ok(Executor::new(options).await?)
}

/// A temp folder with a copy of the shipped reservation workflow and the
/// executor's config file; removed on drop.
struct Scratch {
    dir: PathBuf,
    nats_url: String,
    prefix: String,
    ledger_url: String,
}

impl Scratch {
    fn new(env: &Env, honour: bool) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "sluice-process-kill-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let scratch = Self {
            dir,
            nats_url: env.nats.url.clone(),
            prefix: env.nats.subjects.prefix().to_owned(),
            ledger_url: format!("http://{}", env.ledger.addr),
        };
        sluice_testkit::copy_dir(
            &shipped_workflow(),
            &scratch.workflows().join("reservation"),
        )?;
        // The workflow is copied as shipped; the executor's per-action
        // overrides point it at this test's booking service.
        let url = env.booking.url();
        let config = format!(
            "fetch_wait_ms = 300\nretry_base_ms = 50\nretry_max_ms = 500\n\
             [action_settings.create_booking]\nurl = {}\nprobe_url = {}\n\
             verify_url = {}\ntimeout_ms = 2000\nhonours_idempotency_key = {honour}\n",
            quoted(&format!("{url}/bookings")),
            quoted(&format!("{url}/bookings/by-key/{{key}}")),
            quoted(&format!("{url}/bookings/{{external_id}}")),
        );
        std::fs::write(scratch.config(), config)?;
        Ok(scratch)
    }

    fn workflows(&self) -> PathBuf {
        self.dir.join("workflows")
    }

    fn config(&self) -> PathBuf {
        self.dir.join("executor.toml")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("executor.log")
    }

    /// The `SLUICE_*` environment of an executor recording keys as `owner`.
    fn env(&self, owner: &str, abort: bool) -> Vec<(String, String)> {
        let mut vars = vec![
            ("SLUICE_NATS__URL", self.nats_url.clone()),
            ("SLUICE_NATS__PREFIX", self.prefix.clone()),
            ("SLUICE_LEDGER__URL", self.ledger_url.clone()),
            (
                "SLUICE_WORKFLOWS_DIR",
                self.workflows().display().to_string(),
            ),
            ("SLUICE_HTTP_LISTEN", "127.0.0.1:0".to_owned()),
            ("SLUICE_LEASE_MS", LEASE_MS.to_string()),
            ("SLUICE_OWNER", owner.to_owned()),
        ];
        if abort {
            vars.push(("SLUICE_FAILPOINT", "abort_after_effect".to_owned()));
        }
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `sluice-executor` binary as a child process, killed if still running
/// when dropped (a failing assertion must not leave it consuming).
struct ChildExecutor {
    child: Child,
    log: PathBuf,
}

impl ChildExecutor {
    fn start(scratch: &Scratch) -> anyhow::Result<Self> {
        let log = std::fs::File::create(scratch.log())?;
        let child = Command::new(env!("CARGO_BIN_EXE_sluice-executor"))
            .arg("--config")
            .arg(scratch.config())
            // Only what the test sets: no stray SLUICE_* from the caller.
            .env_clear()
            .envs(scratch.env(KILLED, true))
            .env("RUST_LOG", "info")
            // A core dump, if the host writes one, lands in the scratch folder.
            .current_dir(&scratch.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting sluice-executor")?;
        Ok(Self {
            child,
            log: scratch.log(),
        })
    }

    async fn wait_exit(&mut self) -> anyhow::Result<ExitStatus> {
        let log = self.log.clone();
        eventually("the executor process exited", WAIT, || {
            let exited = self.child.try_wait();
            let log = log.clone();
            async move {
                exited?.ok_or_else(|| {
                    let output = std::fs::read_to_string(&log).unwrap_or_default();
                    anyhow::anyhow!("still running; its log:\n{output}")
                })
            }
        })
        .await
    }
}

impl Drop for ChildExecutor {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn shipped_workflow() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation")
}

/// A TOML basic string (JSON's string escapes are valid TOML).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
