//! A nats-server running `deploy/nats/nats-server.conf` unchanged: test
//! certificates and nkeys go in through the environment variables the file
//! reads, and only ports and the store folder are moved by flags, so that
//! it never meets the shared test broker.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use sluice_bus::{NatsOptions, NatsTlsOptions};

use crate::stack::repo;

/// Every user `deploy/nats/sluice-account.conf` declares.
pub const USERS: [&str; 11] = [
    "ingest",
    "interpreter",
    "gate",
    "executor",
    "notifier",
    "deadletter",
    "console",
    "provisioner",
    "upstream_whatsapp",
    "upstream_crm",
    "operator",
];

/// The production configuration file.
pub fn config_file() -> PathBuf {
    repo("deploy/nats/nats-server.conf")
}

/// The nats-server binary: `SLUICE_NATS_SERVER_BIN`, else the one
/// `scripts/check-deploy.sh` or `scripts/dev-up.sh` installed.
// A test reads what scripts/check-deploy.sh hands it through the environment.
#[allow(clippy::disallowed_methods)]
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("SLUICE_NATS_SERVER_BIN") {
        return Ok(PathBuf::from(path));
    }
    ["deploy-venv", "venv"]
        .iter()
        .map(|venv| repo(&format!(".dev/{venv}/bin/nats-server")))
        .find(|path| path.is_file())
        .context("no nats-server: run scripts/check-deploy.sh or set SLUICE_NATS_SERVER_BIN")
}

/// Test key material: a CA, a server certificate for localhost, one client
/// certificate, and an nkey per user, written under a fresh folder.
pub struct Secrets {
    /// The folder; removed on drop.
    pub dir: PathBuf,
    public_keys: BTreeMap<&'static str, String>,
}

impl Secrets {
    /// Generates everything.
    pub fn generate() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "sluice-nats-prod-{}",
            sluice_testkit::unique_token()
        ));
        std::fs::create_dir_all(&dir)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        for (name, sans) in [
            ("server", names),
            ("client", vec!["sluice.internal".to_owned()]),
        ] {
            let key = KeyPair::generate()?;
            let cert = CertificateParams::new(sans)?.signed_by(&key, &ca)?;
            std::fs::write(dir.join(format!("{name}.pem")), cert.pem())?;
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem())?;
        }
        std::fs::write(dir.join("ca.pem"), ca.pem())?;
        let mut public_keys = BTreeMap::new();
        for user in USERS {
            let pair = nkeys::KeyPair::new_user();
            std::fs::write(
                dir.join(format!("{user}.nk")),
                format!("{}\n", pair.seed()?),
            )?;
            public_keys.insert(user, pair.public_key());
        }
        Ok(Self { dir, public_keys })
    }

    /// The variables `nats-server.conf` reads, for a node named `name`.
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        let path = |f: &str| self.dir.join(f).display().to_string();
        let mut env = vec![
            ("SERVER_NAME".to_owned(), name.to_owned()),
            ("NATS_TLS_CERT".to_owned(), path("server.pem")),
            ("NATS_TLS_KEY".to_owned(), path("server.key")),
            ("NATS_TLS_CA".to_owned(), path("ca.pem")),
        ];
        for (user, key) in &self.public_keys {
            let var = format!("SLUICE_NKEY_{}", user.to_ascii_uppercase());
            env.push((var, key.clone()));
        }
        env
    }

    /// How `user` connects: its nkey, its inbox prefix, the client
    /// certificate, under the production prefix `sluice`.
    pub fn options(&self, url: &str, user: &str) -> NatsOptions {
        NatsOptions {
            url: url.to_owned(),
            nkey_file: Some(self.dir.join(format!("{user}.nk"))),
            inbox_prefix: Some(format!("_INBOX_{user}")),
            tls: NatsTlsOptions {
                ca_file: Some(self.dir.join("ca.pem")),
                cert_file: Some(self.dir.join("client.pem")),
                key_file: Some(self.dir.join("client.key")),
                required: true,
            },
            connect_timeout_ms: 5_000,
            ..NatsOptions::default()
        }
    }

    /// `nats-server -t` on the production file with these secrets.
    pub fn config_test(&self) -> anyhow::Result<Output> {
        Ok(Command::new(binary()?)
            .args(["-t", "-c"])
            .arg(config_file())
            .envs(self.env("sluice-test-0"))
            .env("NATS_STORE_DIR", self.dir.join("jetstream"))
            .output()?)
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A three-node cluster on spare ports, every node running the production
/// file; killed on drop.
pub struct ProductionNats {
    /// Every node's `tls://127.0.0.1:<port>`, comma-separated.
    pub url: String,
    /// Node 0's monitoring port.
    pub monitor_port: u16,
    /// The key material its users connect with.
    pub secrets: Secrets,
    nodes: Vec<Node>,
}

struct Node {
    child: Child,
    log: PathBuf,
    monitor_port: u16,
}

fn spare_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl ProductionNats {
    /// Starts three nodes with the production file; only the addresses,
    /// the routes between them and the data folders differ from
    /// production.
    pub async fn start() -> anyhow::Result<Self> {
        let secrets = Secrets::generate()?;
        let ports: Vec<[u16; 3]> = (0..3)
            .map(|_| Ok([spare_port()?, spare_port()?, spare_port()?]))
            .collect::<anyhow::Result<_>>()?;
        let routes: Vec<String> = ports
            .iter()
            .map(|[_, _, cluster]| format!("nats://127.0.0.1:{cluster}"))
            .collect();
        let mut nodes = Vec::new();
        for (i, [port, monitor_port, cluster]) in ports.iter().enumerate() {
            let name = format!("sluice-test-{i}");
            let log = secrets.dir.join(format!("{name}.log"));
            let child = Command::new(binary()?)
                .arg("-c")
                .arg(config_file())
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor_port.to_string()])
                .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
                .args(["--routes", &routes.join(",")])
                .arg("-l")
                .arg(&log)
                .envs(secrets.env(&name))
                .env("NATS_STORE_DIR", secrets.dir.join(&name))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting nats-server")?;
            nodes.push(Node {
                child,
                log,
                monitor_port: *monitor_port,
            });
        }
        let url = ports
            .iter()
            .map(|[port, _, _]| format!("tls://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",");
        let server = Self {
            url,
            monitor_port: ports[0][1],
            secrets,
            nodes,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    /// Waits until every node reports JetStream healthy (the meta leader
    /// is elected and the node is current).
    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        for node in &self.nodes {
            let url = format!("http://127.0.0.1:{}/healthz", node.monitor_port);
            let mut healthy = false;
            for _ in 0..300 {
                let answer = http.get(&url).send().await;
                if answer.is_ok_and(|r| r.status().is_success()) {
                    healthy = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::ensure!(
                healthy,
                "nats-server did not become healthy:\n{}",
                self.log_text()
            );
        }
        Ok(())
    }

    /// How `user` connects.
    pub fn options(&self, user: &str) -> NatsOptions {
        self.secrets.options(&self.url, user)
    }

    /// Every node's log so far.
    pub fn log_text(&self) -> String {
        self.nodes
            .iter()
            .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for ProductionNats {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}
