//! The service processes: each binary started with its real configuration
//! (a TOML file and `SLUICE_*` variables), SIGKILLed, SIGSTOPped and
//! continued on the fault schedule, and restarted by a supervisor when it
//! exits on its own (a service that cannot reach the broker at start-up
//! exits; its Kubernetes Deployment would restart it the same way).

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;

use crate::log::Log;

/// How to start one service.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its name in the logs and the schedule.
    pub name: &'static str,
    /// The binary.
    pub bin: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment (nothing is inherited).
    pub env: Vec<(String, String)>,
    /// Its log file (appended to across restarts).
    pub log: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Running, or exited on its own (the supervisor restarts it).
    Supervised,
    /// Killed or stopped by the schedule: left alone until it is resumed.
    ByFault,
}

struct Proc {
    spec: Spec,
    child: Option<Child>,
    held: Held,
    starts: u32,
}

/// Every service process, shared by the fault schedule and the supervisor.
#[derive(Clone)]
pub struct Fleet {
    procs: Arc<Mutex<Vec<Proc>>>,
    log: Log,
}

impl Fleet {
    /// An empty fleet.
    pub fn new(log: Log) -> Self {
        Self {
            procs: Arc::new(Mutex::new(Vec::new())),
            log,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Proc>> {
        self.procs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a service and keeps it supervised.
    pub fn start(&self, spec: Spec) -> anyhow::Result<()> {
        let child = spawn(&spec)?;
        self.lock().push(Proc {
            spec,
            child: Some(child),
            held: Held::Supervised,
            starts: 1,
        });
        Ok(())
    }

    /// The names of the services.
    pub fn names(&self) -> Vec<&'static str> {
        self.lock().iter().map(|p| p.spec.name).collect()
    }

    /// The first service from `name` on (in start order, wrapping) that is
    /// up and not frozen, so a fault planned on a service that is already
    /// down lands on another one instead of being lost.
    fn pick(procs: &mut [Proc], name: &str) -> Option<usize> {
        let start = procs.iter().position(|p| p.spec.name == name)?;
        (0..procs.len())
            .map(|i| (start + i) % procs.len())
            .filter(|&i| procs[i].spec.name != "booking")
            .find(|&i| procs[i].held == Held::Supervised && procs[i].child.is_some())
    }

    /// SIGKILLs `name` (or the next service up); it stays down until
    /// [`Fleet::resume`]. Returns which service and its pid.
    pub fn kill(&self, name: &str) -> Option<(&'static str, u32)> {
        let mut procs = self.lock();
        let i = Self::pick(&mut procs, name)?;
        let proc = &mut procs[i];
        proc.held = Held::ByFault;
        let mut child = proc.child.take()?;
        let pid = child.id();
        let _ = child.kill();
        let _ = child.wait();
        Some((proc.spec.name, pid))
    }

    /// SIGSTOPs `name` (or the next service up); it stays frozen until
    /// [`Fleet::resume`].
    pub fn stop(&self, name: &str) -> Option<(&'static str, u32)> {
        let mut procs = self.lock();
        let i = Self::pick(&mut procs, name)?;
        let proc = &mut procs[i];
        let pid = proc.child.as_ref()?.id();
        proc.held = Held::ByFault;
        signal("-STOP", pid);
        Some((proc.spec.name, pid))
    }

    /// Continues a stopped service, or starts a killed one again.
    pub fn resume(&self, name: &str) -> anyhow::Result<()> {
        let mut procs = self.lock();
        let Some(proc) = procs.iter_mut().find(|p| p.spec.name == name) else {
            return Ok(());
        };
        proc.held = Held::Supervised;
        match &proc.child {
            Some(child) => signal("-CONT", child.id()),
            None => {
                proc.child = Some(spawn(&proc.spec)?);
                proc.starts += 1;
            }
        }
        Ok(())
    }

    /// Continues or restarts every service the schedule holds.
    pub fn resume_all(&self) -> anyhow::Result<()> {
        for name in self.names() {
            self.resume(name)?;
        }
        Ok(())
    }

    /// Restarts supervised services that exited on their own; logs each.
    pub fn supervise_once(&self) {
        let mut procs = self.lock();
        for proc in procs.iter_mut().filter(|p| p.held == Held::Supervised) {
            let exited = match proc.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(status.to_string()),
                Some(Ok(None)) => None,
                Some(Err(err)) => Some(err.to_string()),
                None => Some("not running".to_owned()),
            };
            let Some(status) = exited else { continue };
            self.log.line(format!(
                "supervisor: {} exited on its own ({status}); restarting",
                proc.spec.name
            ));
            match spawn(&proc.spec) {
                Ok(child) => {
                    proc.child = Some(child);
                    proc.starts += 1;
                }
                Err(err) => self.log.line(format!("supervisor: {err:#}")),
            }
        }
    }

    /// Runs [`Fleet::supervise_once`] twice a second until dropped.
    pub fn supervise(&self) -> tokio::task::JoinHandle<()> {
        let fleet = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                fleet.supervise_once();
            }
        })
    }

    /// How often each service was started.
    pub fn starts(&self) -> Vec<(&'static str, u32)> {
        self.lock()
            .iter()
            .map(|p| (p.spec.name, p.starts))
            .collect()
    }

    /// Each service's peak resident memory in KiB (`VmHWM`), of the process
    /// running now: since its last start, so a service the schedule killed
    /// shows only its latest life.
    pub fn peak_rss_kib(&self) -> Vec<(&'static str, u64)> {
        self.lock()
            .iter()
            .filter_map(|p| {
                let pid = p.child.as_ref()?.id();
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
                let kib = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()?;
                Some((p.spec.name, kib))
            })
            .collect()
    }

    /// Stops every process (SIGCONT first, then SIGTERM, then SIGKILL).
    pub fn shutdown(&self) {
        let mut procs = self.lock();
        for proc in procs.iter_mut() {
            proc.held = Held::ByFault;
            if let Some(child) = &proc.child {
                signal("-CONT", child.id());
                signal("-TERM", child.id());
            }
        }
        for proc in procs.iter_mut() {
            if let Some(mut child) = proc.child.take() {
                for _ in 0..50 {
                    if matches!(child.try_wait(), Ok(Some(_))) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The last handle (the run's) takes every process down with it.
        if Arc::strong_count(&self.procs) == 1 {
            self.shutdown();
        }
    }
}

fn spawn(spec: &Spec) -> anyhow::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log)?;
    Command::new(&spec.bin)
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", spec.bin.display()))
}

/// Sends a signal with `kill(1)` (the workspace forbids `unsafe`, so no
/// `libc::kill`).
fn signal(which: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(which)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
