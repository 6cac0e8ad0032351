//! The run's log: every line to stderr and to `<work>/chaos.log`, stamped
//! with the seconds since the run began.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// A cheap-to-clone handle on the run's log.
#[derive(Debug, Clone)]
pub struct Log {
    start: Instant,
    file: Arc<Mutex<File>>,
}

impl Log {
    /// Opens `<dir>/chaos.log`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            start: Instant::now(),
            file: Arc::new(Mutex::new(File::create(dir.join("chaos.log"))?)),
        })
    }

    /// Seconds since the run began.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Writes one line.
    pub fn line(&self, text: impl AsRef<str>) {
        let line = format!("[{:8.1}s] {}\n", self.elapsed(), text.as_ref());
        eprint!("{line}");
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = file.write_all(line.as_bytes());
    }
}
