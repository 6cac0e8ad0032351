//! The private engines: one nats-server and Postgres clusters on spare
//! ports, started, crashed and restarted by the harness. The shared servers
//! other tests use are never touched.

use std::fs::OpenOptions;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn spare_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until something accepts connections on `port`.
pub async fn wait_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A private nats-server with JetStream (`sync_interval: always`).
pub struct Nats {
    bin: PathBuf,
    dir: PathBuf,
    /// Client port.
    pub port: u16,
    child: Option<Child>,
}

impl Nats {
    /// Writes the config under `dir` and starts the server.
    pub async fn start(bin: PathBuf, dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir.join("js"))?;
        let port = spare_port()?;
        let config = format!(
            "listen: 127.0.0.1:{port}\nserver_name: sluice-chaos\nmax_payload: 8MB\n\
             jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n  \
             max_memory_store: 256MB\n  max_file_store: 8GB\n}}\n",
            dir.join("js").display()
        );
        std::fs::write(dir.join("nats.conf"), config)?;
        let mut nats = Self {
            bin,
            dir,
            port,
            child: None,
        };
        nats.spawn().await?;
        Ok(nats)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("nats.log"))?;
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.join("nats.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        wait_port(self.port, Duration::from_secs(30)).await
    }

    /// SIGKILL: the broker dies with whatever it had not written.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.crash();
        self.spawn().await
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.crash();
    }
}

/// A private Postgres cluster (`initdb` into the run's folder, run as the
/// `postgres` user when the harness is root).
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    /// Its port.
    pub port: u16,
    as_postgres: bool,
}

impl Postgres {
    /// Creates and starts a cluster in `dir`.
    pub async fn start(bin: &Path, dir: PathBuf) -> anyhow::Result<Self> {
        let as_postgres = std::fs::metadata("/proc/self")?.uid() == 0;
        std::fs::create_dir_all(&dir)?;
        if as_postgres {
            // The cluster's files belong to the user that runs it.
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let pg = Self {
            bin: bin.to_owned(),
            port: spare_port()?,
            dir,
            as_postgres,
        };
        let data = pg.data().display().to_string();
        pg.pg(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        )?;
        pg.start_server()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn pg(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let bin = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        run(command.args(args).current_dir(&self.dir))
    }

    fn start_server(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 \
             -c shared_buffers=32MB",
            self.port,
            self.dir.display()
        );
        let data = self.data().display().to_string();
        let log = self.dir.join("postgres.log").display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        )
    }

    /// `pg_ctl stop -m immediate`: a crash; the next start recovers from WAL.
    pub fn crash(&self) -> anyhow::Result<()> {
        let data = self.data().display().to_string();
        self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
    }

    /// Starts it again after [`Postgres::crash`].
    pub fn restart(&self) -> anyhow::Result<()> {
        self.start_server()
    }

    /// Creates `database`.
    pub async fn create_database(&self, database: &str) -> anyhow::Result<()> {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self.pg("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }
}

/// Runs `command` to completion; its output goes to the error on failure.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{command:?}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
