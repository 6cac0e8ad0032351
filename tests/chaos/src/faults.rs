//! The fault schedule: drawn from the seed before the run starts, so a seed
//! replays the same faults at the same offsets against the same events.

use std::fmt;
use std::time::Duration;

use crate::args::Profile;

/// The services the schedule may kill or stop (the booking service is the
/// target: its faults are injected through its own admin endpoint).
pub const SERVICES: [&str; 7] = [
    "ingest",
    "interpreter",
    "gate",
    "executor",
    "notifier",
    "deadletter",
    "ledger",
];

/// A booking-service endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /bookings` (the effect).
    Bookings,
    /// `POST /v1/messages` (the confirmation).
    Messages,
}

/// A fault of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetFault {
    /// Every request slowed by `ms` for `lasting`.
    Latency { ms: u64, lasting: Duration },
    /// The next `n` requests answer `status` without effect.
    Fail { n: u32, status: u16 },
    /// The next `n` requests never answer, without effect (timeouts).
    Hang { n: u32 },
    /// The next `n` requests are applied, then never answered.
    ApplyThenDrop { n: u32 },
}

/// A fault of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFault {
    /// Every answer is not JSON, for `lasting`.
    InvalidJson { lasting: Duration },
    /// Every answer comes after the interpreter's timeout, for `lasting`.
    Timeout { lasting: Duration },
}

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL, restarted after `pause`.
    Kill {
        service: &'static str,
        pause: Duration,
    },
    /// SIGSTOP, SIGCONT after `pause`.
    Stop {
        service: &'static str,
        pause: Duration,
    },
    /// nats-server SIGKILLed, started again after `pause`.
    NatsRestart { pause: Duration },
    /// The ledger's Postgres crashed (`-m immediate`), started after `pause`.
    PostgresRestart { pause: Duration },
    /// A booking-service fault.
    Target(Endpoint, TargetFault),
    /// A model fault.
    Model(ModelFault),
    /// `count` stored stage messages delivered again under new message ids
    /// (only execute-stage ones when `execute_only`).
    Redeliver { count: usize, execute_only: bool },
}

impl Fault {
    /// The counter it is reported under.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Stop { .. } => "stop",
            Fault::NatsRestart { .. } => "nats_restart",
            Fault::PostgresRestart { .. } => "postgres_restart",
            Fault::Target(..) => "target",
            Fault::Model(_) => "model",
            Fault::Redeliver { .. } => "redelivery",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| d.as_secs_f64();
        match self {
            Fault::Kill { service, pause } => {
                write!(f, "SIGKILL {service}, restart after {:.1}s", secs(pause))
            }
            Fault::Stop { service, pause } => {
                write!(f, "SIGSTOP {service}, SIGCONT after {:.1}s", secs(pause))
            }
            Fault::NatsRestart { pause } => {
                write!(f, "nats-server SIGKILL, restart after {:.1}s", secs(pause))
            }
            Fault::PostgresRestart { pause } => {
                write!(
                    f,
                    "ledger Postgres crash, restart after {:.1}s",
                    secs(pause)
                )
            }
            Fault::Target(endpoint, fault) => write!(f, "target {endpoint:?}: {fault:?}"),
            Fault::Model(fault) => write!(f, "model: {fault:?}"),
            Fault::Redeliver {
                count,
                execute_only,
            } => write!(
                f,
                "redeliver {count} stage messages (execute only: {execute_only})"
            ),
        }
    }
}

/// A fault and when it lands, from the start of the load.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    /// When.
    pub at: Duration,
    /// What.
    pub fault: Fault,
}

/// The schedule of `seed` for `profile`, in time order.
pub fn schedule(profile: &Profile, seed: u64) -> Vec<Planned> {
    // A stream of its own, so changing the load does not move the faults.
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed_fa17);
    let span = profile.send_secs().max(10.0);
    // Faults land while events are still arriving, after a short warm-up.
    let at = |rng: &mut fastrand::Rng| Duration::from_secs_f64(3.0 + rng.f64() * (span - 3.0));
    let ms = |rng: &mut fastrand::Rng, lo: u64, hi: u64| Duration::from_millis(rng.u64(lo..hi));
    let mut out = Vec::new();
    for _ in 0..profile.kills {
        let service = SERVICES[rng.usize(..SERVICES.len())];
        let pause = ms(&mut rng, 500, 3_000);
        out.push((at(&mut rng), Fault::Kill { service, pause }));
    }
    for _ in 0..profile.stops {
        let service = SERVICES[rng.usize(..SERVICES.len())];
        let pause = ms(&mut rng, 1_000, 4_000);
        out.push((at(&mut rng), Fault::Stop { service, pause }));
    }
    for _ in 0..profile.nats_restarts {
        let pause = ms(&mut rng, 1_000, 3_000);
        out.push((at(&mut rng), Fault::NatsRestart { pause }));
    }
    for _ in 0..profile.pg_restarts {
        let pause = ms(&mut rng, 1_000, 3_000);
        out.push((at(&mut rng), Fault::PostgresRestart { pause }));
    }
    for _ in 0..profile.target_faults {
        let endpoint = if rng.f64() < 0.8 {
            Endpoint::Bookings
        } else {
            Endpoint::Messages
        };
        let fault = match rng.u8(0..4) {
            0 => TargetFault::Latency {
                ms: rng.u64(200..1_200),
                lasting: ms(&mut rng, 3_000, 8_000),
            },
            1 => TargetFault::Fail {
                n: rng.u32(1..6),
                status: [500, 502, 503][rng.usize(..3)],
            },
            2 => TargetFault::Hang { n: rng.u32(1..4) },
            _ => TargetFault::ApplyThenDrop { n: rng.u32(1..4) },
        };
        out.push((at(&mut rng), Fault::Target(endpoint, fault)));
    }
    for _ in 0..profile.model_faults {
        let lasting = ms(&mut rng, 2_000, 6_000);
        let fault = if rng.bool() {
            ModelFault::InvalidJson { lasting }
        } else {
            ModelFault::Timeout { lasting }
        };
        out.push((at(&mut rng), Fault::Model(fault)));
    }
    for _ in 0..profile.redeliveries {
        let count = rng.usize(5..16);
        let fault = Fault::Redeliver {
            count,
            execute_only: profile.mutant,
        };
        out.push((at(&mut rng), fault));
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter()
        .map(|(at, fault)| Planned { at, fault })
        .collect()
}
