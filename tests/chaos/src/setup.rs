//! The run's files: a copy of the shipped workflow and source tuned for a
//! run that fits in minutes, each service's config file and environment, and
//! the stream topology with second-long dedupe windows and ack waits.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_bus::{ConsumerSettings, StreamSettings, StreamsConfig, Topology};
use sluice_core::Stage;

use crate::fleet::Spec;

/// The one workflow and source the run drives.
pub const WORKFLOW: &str = "reservation";
/// The source.
pub const SOURCE: &str = "whatsapp";
/// The installation prefix inside the private broker.
pub const PREFIX: &str = "chaos";
/// JetStream's dedupe window on the ingest and pipeline streams: late
/// duplicates are sent after it.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(2);
/// The executor's and notifier's key lease.
pub const LEASE_MS: u64 = 3_000;
/// The webhook secret of the run (base64 of a fixed 24-byte key).
pub const WEBHOOK_SECRET: &str = "whsec_Y2hhb3MtaGFybmVzcy1zZWNyZXQtMDAwMQ==";
/// The second key of the executor's duplicate-effect mutant.
pub const UNSAFE_MARKER: &str = "i-accept-duplicate-effects";

/// Where everything of the run lives and listens.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The run's folder.
    pub dir: PathBuf,
    /// The service binaries.
    pub bin_dir: PathBuf,
    /// The private broker.
    pub nats_url: String,
    /// The ledger's database.
    pub ledger_db: String,
    /// The booking service's database (another cluster, never restarted).
    pub booking_db: String,
    /// The fake model's base URL.
    pub model_url: String,
    /// Ingest's HTTP port.
    pub ingest_port: u16,
    /// The ledger's gRPC port.
    pub ledger_port: u16,
    /// The booking service's port.
    pub booking_port: u16,
    /// Run the executor as the duplicate-effect mutant.
    pub mutant: bool,
    /// Latency of every booking from the start, in milliseconds.
    pub target_latency_ms: u64,
}

impl Layout {
    /// `http://127.0.0.1:<ledger port>`.
    pub fn ledger_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ledger_port)
    }

    /// `http://127.0.0.1:<booking port>`.
    pub fn booking_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.booking_port)
    }

    /// `http://127.0.0.1:<ingest port>`.
    pub fn ingest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ingest_port)
    }

    fn workflows(&self) -> PathBuf {
        self.dir.join("workflows")
    }

    fn sources(&self) -> PathBuf {
        self.dir.join("sources")
    }

    /// Copies the shipped workflow and source, tuned for the run: the fake
    /// model as backend (the extractor stays the fallback), a short model
    /// timeout, ambiguous effects resolved by the target's status probe, and
    /// retry delays in the hundreds of milliseconds.
    pub fn write_declarations(&self) -> anyhow::Result<()> {
        let repo = repo_root();
        let shipped = repo.join("workflows").join(WORKFLOW);
        let copy = self.workflows().join(WORKFLOW);
        sluice_testkit::copy_dir(&shipped, &copy)?;
        let spec = std::fs::read_to_string(shipped.join("workflow.toml"))?;
        let tuned = replace_all(
            &spec,
            &[
                ("backend = \"rules\"", "backend = \"fake\""),
                ("timeout_ms = 15000", "timeout_ms = 2000"),
                ("on_ambiguous = \"review\"", "on_ambiguous = \"probe\""),
                ("max_attempts = 5", "max_attempts = 8"),
                ("initial_delay_ms = 500", "initial_delay_ms = 100"),
                ("max_delay_ms = 30000", "max_delay_ms = 1000"),
            ],
        )?;
        std::fs::write(copy.join("workflow.toml"), tuned)?;
        std::fs::create_dir_all(self.sources())?;
        for file in ["whatsapp.toml", "whatsapp.schema.json"] {
            std::fs::copy(repo.join("sources").join(file), self.sources().join(file))?;
        }
        Ok(())
    }

    fn common_env(&self) -> Vec<(String, String)> {
        [
            ("SLUICE_NATS__URL", self.nats_url.clone()),
            ("SLUICE_NATS__PREFIX", PREFIX.to_owned()),
            ("SLUICE_LEDGER__URL", self.ledger_url()),
            ("SLUICE_LOG_FORMAT", "json".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    fn service(&self, name: &'static str, bin: &str, config: String) -> anyhow::Result<Spec> {
        let path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&path, config)?;
        let mut env = self.common_env();
        env.push(("SLUICE_HTTP_LISTEN".into(), "127.0.0.1:0".into()));
        if name == "ingest" {
            env.retain(|(k, _)| k != "SLUICE_HTTP_LISTEN");
            env.push((
                "SLUICE_WHATSAPP_WEBHOOK_SECRET".into(),
                WEBHOOK_SECRET.into(),
            ));
            env.push((
                "SLUICE_WHATSAPP_WEBHOOK_SECRET_NEXT".into(),
                WEBHOOK_SECRET.into(),
            ));
        }
        if name == "executor" && self.mutant {
            env.push(("SLUICE_UNSAFE_MARKER".into(), UNSAFE_MARKER.into()));
        }
        Ok(Spec {
            name,
            bin: self.bin_dir.join(bin),
            args: vec!["--config".into(), path.display().to_string()],
            env,
            log: self.dir.join(format!("{name}.log")),
        })
    }

    /// The booking service (the target; never killed), then the ledger, then
    /// the six pipeline services, in start order.
    pub fn specs(&self) -> anyhow::Result<Vec<Spec>> {
        let workflows = quoted(&self.workflows().display().to_string());
        let stage = format!(
            "workflows_dir = {workflows}\nfetch_wait_ms = 1000\n\
             retry_base_ms = 200\nretry_max_ms = 2000\ngrace_ms = 2000\n"
        );
        let booking = self.booking_url();
        let mut executor = format!(
            "{stage}lease_ms = {LEASE_MS}\nquick_retries = 2\n\
             [action_settings.create_booking]\nurl = {}\nprobe_url = {}\n\
             verify_url = {}\ntimeout_ms = 1500\nhonours_idempotency_key = false\n",
            quoted(&format!("{booking}/bookings")),
            quoted(&format!("{booking}/bookings/by-key/{{key}}")),
            quoted(&format!("{booking}/bookings/{{external_id}}")),
        );
        if self.mutant {
            executor = format!("failpoint = \"skip_ledger_guard\"\n{executor}");
        }
        let booking_config = format!(
            "database_url = {}\nlisten = \"127.0.0.1:{}\"\n\
             honour_idempotency_keys = false\nmax_connections = 8\n\
             [faults.bookings]\nlatency_ms = {}\n",
            quoted(&self.booking_db),
            self.booking_port,
            self.target_latency_ms
        );
        let booking_path = self.dir.join("booking.toml");
        std::fs::write(&booking_path, booking_config)?;
        let ledger = Spec {
            name: "ledger",
            bin: self.bin_dir.join("sluice-ledger"),
            args: [
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.ledger_port),
                "--http-listen",
                "127.0.0.1:0",
                "--migrate",
                "--max-connections",
                "24",
            ]
            .map(str::to_owned)
            .to_vec(),
            env: [
                ("SLUICE_DATABASE_URL".to_owned(), self.ledger_db.clone()),
                ("SLUICE_LOG_FORMAT".to_owned(), "json".to_owned()),
                ("RUST_LOG".to_owned(), "info".to_owned()),
            ]
            .to_vec(),
            log: self.dir.join("ledger.log"),
        };
        let sources = quoted(&self.sources().display().to_string());
        Ok(vec![
            Spec {
                name: "booking",
                bin: self.bin_dir.join("booking-service"),
                args: vec!["--config".into(), booking_path.display().to_string()],
                env: vec![("RUST_LOG".into(), "info".into())],
                log: self.dir.join("booking.log"),
            },
            ledger,
            self.service(
                "interpreter",
                "sluice-interpreter",
                format!(
                    "workflows_dir = {workflows}\nhttp_listen = \"127.0.0.1:0\"\n\
                     [models.fake]\nbase_url = {}\nmodel = \"fake-1\"\n",
                    quoted(&self.model_url)
                ),
            )?,
            self.service(
                "gate",
                "sluice-gate",
                format!(
                    "{stage}[context_urls]\navailability = {}\n",
                    quoted(&format!(
                        "{booking}/availability?date={{date}}&time={{time}}&party_size={{party_size}}"
                    ))
                ),
            )?,
            self.service("executor", "sluice-executor", executor)?,
            self.service(
                "notifier",
                "sluice-notifier",
                format!(
                    "{stage}lease_ms = {LEASE_MS}\n[channels.whatsapp]\nkind = \"http\"\n\
                     url = {}\ntimeout_ms = 1500\nhonours_idempotency_key = false\n",
                    quoted(&format!("{booking}/v1/messages"))
                ),
            )?,
            self.service(
                "deadletter",
                "sluice-deadletter",
                "fetch_wait_ms = 1000\nack_wait_ms = 5000\nretry_base_ms = 200\n\
                 retry_max_ms = 2000\nreplay_horizon = \"1h\"\nbacklog_every_ms = 5000\n"
                    .to_owned(),
            )?,
            self.service(
                "ingest",
                "sluice-ingest",
                format!(
                    "sources_dir = {sources}\nhttp_listen = \"127.0.0.1:{}\"\n\
                     health_listen = \"127.0.0.1:0\"\npublish_timeout_ms = 2000\n\
                     retry_after_secs = 1\nshutdown_grace_ms = 2000\n\
                     [rate_limit]\nper_second = 0.0\n",
                    self.ingest_port
                ),
            )?,
        ])
    }
}

/// Streams kept two hours with two-second dedupe windows; consumers with
/// second-long ack waits.
pub fn topology() -> Topology {
    let hours = |h: u64| Duration::from_secs(h * 3600);
    let short = StreamSettings::new(hours(2), DEDUPE_WINDOW);
    let mut topology = Topology::new([WORKFLOW], [SOURCE]);
    topology.streams = StreamsConfig {
        ingest: short,
        pipeline: short,
        dead_letter: StreamSettings::new(hours(2), Duration::from_secs(1800)),
        advisories: short,
        events: short,
    };
    topology.consumers = ConsumerSettings {
        ack_wait: Duration::from_secs(5),
        max_deliver: 6,
        max_ack_pending: 1000,
    };
    topology.stage_consumers.insert(
        Stage::Execute,
        ConsumerSettings {
            ack_wait: Duration::from_secs(10),
            ..topology.consumers
        },
    );
    topology
}

/// The repository this harness was built from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn replace_all(text: &str, pairs: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut out = text.to_owned();
    for (from, to) in pairs {
        anyhow::ensure!(out.contains(from), "the shipped workflow has no {from:?}");
        out = out.replacen(from, to, 1);
    }
    Ok(out)
}

/// A TOML basic string (JSON's string escapes are valid TOML).
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
