//! Kill switches, read live from the `<prefix>-switches` KV bucket.

use async_nats::jetstream::kv;
use sluice_bus::Bus;

/// The kill-switch bucket.
#[derive(Debug, Clone)]
pub struct Switches {
    store: kv::Store,
}

/// A switch value meaning "off".
pub const OFF: &str = "off";

impl Switches {
    /// Opens the bucket (provisioned with the streams).
    pub async fn open(bus: &Bus) -> Result<Self, sluice_bus::Error> {
        let bucket = bus.subjects().switches_bucket();
        let store = bus.jetstream().get_key_value(&bucket).await.map_err(|e| {
            sluice_bus::Error::Bucket {
                bucket,
                source: e.into(),
            }
        })?;
        Ok(Self { store })
    }

    /// The first switch that is off among `<workflow>` and, when given,
    /// `<workflow>.<action>`. Only allowlisted (hence valid) action names may
    /// be passed.
    pub async fn off(
        &self,
        workflow: &str,
        action: Option<&str>,
    ) -> Result<Option<String>, async_nats::Error> {
        let keys =
            std::iter::once(workflow.to_owned()).chain(action.map(|a| format!("{workflow}.{a}")));
        for key in keys {
            let value = self.store.get(&key).await?;
            let off =
                value.is_some_and(|v| String::from_utf8_lossy(&v).trim().eq_ignore_ascii_case(OFF));
            if off {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }
}
