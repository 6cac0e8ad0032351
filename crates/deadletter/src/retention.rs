//! The start-up check that idempotency keys outlive every possible replay.
//!
//! A dead letter can be replayed as long as the dead-letter stream keeps it
//! and then for the replay horizon (an operator may replay what they saw
//! there just before it expired, from the ledger's index). The effect of a
//! replay is guarded only by its idempotency key; a key purged before then
//! would let the replay perform the effect again. So the ledger's key
//! retention must be at least the stream's max age plus the horizon, and
//! the service refuses to start otherwise.

use std::time::Duration;

use sluice_bus::Bus;
use sluice_core::subjects::StreamKind;
use sluice_ledger::LedgerClient;

use crate::Error;

/// Refuses a key retention shorter than `dlq_max_age + horizon`. A max age
/// of zero means the stream keeps messages forever, which no retention
/// covers.
pub fn check(
    key_retention: Duration,
    dlq_max_age: Duration,
    horizon: Duration,
) -> Result<(), Error> {
    let needed = dlq_max_age.saturating_add(horizon);
    if dlq_max_age.is_zero() || key_retention < needed {
        return Err(Error::Retention {
            key_retention,
            dlq_max_age,
            horizon,
        });
    }
    Ok(())
}

/// Reads the dead-letter stream's actual max age and the ledger's key
/// retention, and [`check`]s them.
pub async fn verify(bus: &Bus, ledger: &LedgerClient, horizon: Duration) -> Result<(), Error> {
    let name = bus.subjects().stream(StreamKind::DeadLetter);
    let stream = bus
        .jetstream()
        .get_stream(&name)
        .await
        .map_err(|e| Error::Stream {
            stream: name.clone(),
            reason: e.to_string().replace('\n', " "),
        })?;
    let dlq_max_age = stream.cached_info().config.max_age;
    let settings = ledger.get_settings().await?;
    check(settings.key_retention, dlq_max_age, horizon)?;
    tracing::info!(
        key_retention = %human(settings.key_retention),
        dlq_max_age = %human(dlq_max_age),
        replay_horizon = %human(horizon),
        "key retention covers every replay"
    );
    Ok(())
}

/// A duration the way operators configure it: `37d`, `36h`, `90m`, `45s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn retention_must_cover_the_stream_and_the_horizon() {
        assert!(check(45 * DAY, 30 * DAY, 7 * DAY).is_ok());
        assert!(check(37 * DAY, 30 * DAY, 7 * DAY).is_ok());
        let err = check(30 * DAY, 30 * DAY, 7 * DAY)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "ledger key retention 30d is shorter than the dead-letter stream's max age 30d \
                 plus the replay horizon 7d (37d): set SLUICE_LEDGER_KEY_RETENTION to at least \
                 37d, or shorten the stream's max age or replay_horizon"
            )
        );
        assert!(check(45 * DAY, Duration::ZERO, 7 * DAY).is_err());
    }

    #[test]
    fn durations_read_as_configured() {
        assert_eq!(human(37 * DAY), "37d");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
    }
}
