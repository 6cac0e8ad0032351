//! Source specs, declared in `sources/<name>.toml`.
//!
//! A source is an upstream system: how its events arrive (a signed webhook,
//! a NATS subject or both), which secrets sign them, which schema its
//! payloads follow and which workflows they feed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::validate_name;

/// One declared upstream source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The source's name: a subject token (`sluice.in.<name>.>`).
    pub name: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// The workflows each event of this source starts (one execution each).
    pub workflows: Vec<String>,
    /// JSON Schema of the payload, relative to the `sources/` folder.
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// Where the upstream event id is in the payload (a top-level field) for
    /// NATS input; the `Nats-Msg-Id` header is used when the field is absent.
    #[serde(default = "defaults::event_id_field")]
    pub event_id_field: String,
    /// Signed webhooks (`POST /v1/events/<name>`), if accepted.
    #[serde(default)]
    pub webhook: Option<WebhookSpec>,
    /// Whether events are also consumed from `sluice.in.<name>.>`.
    #[serde(default)]
    pub nats: bool,
    /// Fired on a timetable by ingest itself instead of by an upstream.
    #[serde(default)]
    pub schedule: Option<ScheduleSpec>,
}

/// A scheduled source: `[schedule]`. Each slot starts one execution per
/// workflow whose event id is the slot's instant, so the same slot fired
/// twice (two replicas, a restart) is the same execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A cron expression: five fields, or six with seconds first
    /// (`0 7 * * MON-FRI`, `*/30 * * * * *`).
    pub cron: String,
    /// The IANA timezone the expression is read in. Required: "seven
    /// o'clock" means nothing without one, and DST moves it.
    pub timezone: String,
    /// What becomes of slots missed while no replica was running.
    pub catch_up: CatchUp,
    /// Whether a slot may start while the previous slot's executions are
    /// still running (default: no; the slot waits for them).
    #[serde(default)]
    pub allow_overlap: bool,
    /// The data every fire carries, next to `schedule` and `scheduled_for`.
    #[serde(default)]
    pub payload: toml::Table,
}

/// Missed slots after downtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Run the latest missed slot, once.
    Once,
    /// Run every missed slot, oldest first.
    All,
    /// Run none of them; wait for the next slot.
    Skip,
}

/// Standard Webhooks settings of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Signing secrets by reference; several at once during a rotation.
    pub secrets: Vec<SecretRef>,
    /// Largest accepted body, in bytes.
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: usize,
    /// How far a `webhook-timestamp` may be from now, in seconds.
    #[serde(default = "defaults::tolerance_secs")]
    pub tolerance_secs: u64,
}

/// A secret named by where it lives, never written in the spec itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable of the service's process.
    Env(String),
    /// A file (e.g. a mounted Kubernetes Secret); surrounding whitespace is
    /// ignored.
    File(PathBuf),
}

mod defaults {
    pub(super) fn event_id_field() -> String {
        "id".to_owned()
    }
    pub(super) const fn max_body_bytes() -> usize {
        64 * 1024
    }
    pub(super) const fn tolerance_secs() -> u64 {
        5 * 60
    }
}

impl SourceSpec {
    /// Parses and validates a spec; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let spec: Self = toml::from_str(text).map_err(|source| Error::WorkflowParse {
            path: origin.to_owned(),
            source,
        })?;
        let invalid = |reason: String| Error::WorkflowInvalid {
            path: origin.to_owned(),
            reason,
        };
        validate_name("source", &spec.name).map_err(|e| invalid(e.to_string()))?;
        if spec.workflows.is_empty() {
            return Err(invalid("a source must feed at least one workflow".into()));
        }
        for workflow in &spec.workflows {
            validate_name("workflow", workflow).map_err(|e| invalid(e.to_string()))?;
        }
        if spec.webhook.is_none() && !spec.nats && spec.schedule.is_none() {
            return Err(invalid(
                "declare a [webhook] section, `nats = true` or a [schedule]".into(),
            ));
        }
        if let Some(schedule) = &spec.schedule
            && (schedule.cron.trim().is_empty() || schedule.timezone.trim().is_empty())
        {
            return Err(invalid(
                "a schedule needs a cron expression and a timezone".into(),
            ));
        }
        if let Some(webhook) = &spec.webhook
            && webhook.secrets.is_empty()
        {
            return Err(invalid("a webhook needs at least one secret".into()));
        }
        Ok(spec)
    }

    /// Loads every `<root>/*.toml`, sorted by name; each file's stem must be
    /// the source's name.
    pub fn load_all(root: &Path) -> Result<Vec<Self>, Error> {
        let unreadable = |path: &Path, e: std::io::Error| Error::WorkflowInvalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut specs = Vec::new();
        for entry in std::fs::read_dir(root).map_err(|e| unreadable(root, e))? {
            let path = entry.map_err(|e| unreadable(root, e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| unreadable(&path, e))?;
            let spec = Self::parse(&text, &path.display().to_string())?;
            if path.file_stem().and_then(|s| s.to_str()) != Some(spec.name.as_str()) {
                return Err(Error::WorkflowInvalid {
                    path: path.display().to_string(),
                    reason: format!("file name must be {}.toml", spec.name),
                });
            }
            specs.push(spec);
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sources")
    }

    #[test]
    fn parses_the_shipped_sources() {
        let specs = SourceSpec::load_all(&sources_dir()).expect("sources/");
        let whatsapp = specs
            .iter()
            .find(|s| s.name == "whatsapp")
            .expect("whatsapp");
        assert_eq!(whatsapp.workflows, ["reservation"]);
        insta::assert_json_snapshot!(whatsapp);
        let crm = specs.iter().find(|s| s.name == "crm").expect("crm");
        assert_eq!(crm.workflows, ["crm-enrichment"]);
        assert!(crm.nats, "the CRM may also publish to sluice.in.crm.>");
        insta::assert_json_snapshot!("parses_the_shipped_crm_source", crm);
    }

    #[test]
    fn refuses_a_source_with_no_way_in_or_no_secret() {
        let no_way_in = "name = \"x\"\nworkflows = [\"w\"]\n";
        assert!(SourceSpec::parse(no_way_in, "x.toml").is_err());
        let no_secret = "name = \"x\"\nworkflows = [\"w\"]\n[webhook]\nsecrets = []\n";
        let err = SourceSpec::parse(no_secret, "x.toml").expect_err("no secret");
        assert!(err.to_string().contains("secret"), "{err}");
        let inline_secret =
            "name = \"x\"\nworkflows = [\"w\"]\n[webhook]\nsecrets = [\"whsec_abc\"]\n";
        assert!(
            SourceSpec::parse(inline_secret, "x.toml").is_err(),
            "secrets only by reference"
        );
    }
}
