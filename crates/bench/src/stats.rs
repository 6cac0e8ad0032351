//! Latency percentiles, CPU time and resident memory, read from `/proc`.

use std::time::Duration;

/// `/proc/<pid>/stat` counts CPU time in clock ticks of 1/100 s (USER_HZ is
/// 100 on every Linux architecture Sluice builds for).
const TICKS_PER_SECOND: f64 = 100.0;

/// The `q`-quantile (0..=1) of `latencies`, in milliseconds (0 when empty).
pub fn quantile_ms(latencies: &mut [Duration], q: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort_unstable();
    let rank = ((latencies.len() as f64) * q).ceil() as usize;
    let index = rank.clamp(1, latencies.len()) - 1;
    latencies[index].as_secs_f64() * 1e3
}

/// CPU seconds (user + system) used so far by process `pid`, if readable.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields after it are fixed.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// The pids whose command name is `name`.
fn pids_named(name: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .collect()
}

/// CPU seconds used so far by this process, the broker and Postgres.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// This process: the services (or the relay) and the load generator.
    pub process: f64,
    /// `nats-server`.
    pub broker: f64,
    /// Every `postgres` process (other users of the server included).
    pub database: f64,
}

impl Cpu {
    /// Reads the counters now.
    pub fn sample() -> Self {
        let sum = |name: &str| {
            pids_named(name)
                .iter()
                .filter_map(|pid| cpu_seconds(pid))
                .sum()
        };
        Self {
            process: cpu_seconds("self").unwrap_or(0.0),
            broker: sum("nats-server"),
            database: sum("postgres"),
        }
    }

    /// What was used between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            process: self.process - earlier.process,
            broker: self.broker - earlier.broker,
            database: self.database - earlier.database,
        }
    }
}

/// This process's resident set now and at its peak, in MiB.
pub fn rss_mib() -> (f64, f64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0.0, 0.0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let mut l: Vec<Duration> = (1..=1000).map(Duration::from_millis).collect();
        assert_eq!(quantile_ms(&mut l, 0.5), 500.0);
        assert_eq!(quantile_ms(&mut l, 0.99), 990.0);
        assert_eq!(quantile_ms(&mut l, 0.999), 999.0);
        assert_eq!(quantile_ms(&mut [], 0.5), 0.0);
    }

    #[test]
    fn reads_own_cpu_and_rss() {
        assert!(cpu_seconds("self").is_some());
        assert!(rss_mib().0 > 0.0);
    }
}
