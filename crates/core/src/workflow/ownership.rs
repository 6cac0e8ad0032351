//! Who answers for a workflow: `[ownership]` in `workflow.toml`.
//!
//! The owner (a team) is the label on the workflow's review and dead-letter
//! metrics, the name in its alerts and in `sluice` and console output, and
//! the addressee of its escalations: a review item left past the SLA is
//! announced on `<prefix>.events.escalated.<workflow>` and, when an
//! escalation webhook is declared, POSTed there, signed like inbound
//! webhooks. Secrets and deployment-specific URLs are named by environment
//! variable, never written in the spec.

use serde::{Deserialize, Serialize};

use crate::error::validate_name;

/// The metrics label value of a workflow (or dead letter) with no declared
/// owner. Reserved: no team may be called this.
pub const UNOWNED: &str = "unowned";

/// `[ownership]`: who answers for the workflow, how fast, and where an item
/// left too long goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnershipSpec {
    /// The owning team: a label value, so `[a-z0-9_-]`, 1-64 characters.
    pub owner: String,
    /// How to reach the owner, for people (a channel, a rota): shown with
    /// the owner, sent with escalations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Seconds from opening within which a review item should be decided;
    /// past it the item is announced as overdue and escalated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_s: Option<u32>,
    /// Where escalations are POSTed besides the escalation event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<EscalationSpec>,
}

/// `[ownership] escalation`: a webhook that receives every escalation of
/// the workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSpec {
    /// The URL, written out or named by an environment variable (an unset
    /// variable turns the webhook off in that deployment).
    pub webhook: WebhookTarget,
    /// The environment variable holding the signing secret (`whsec_…`);
    /// required whenever the webhook is on.
    pub secret_env: String,
}

/// Where an escalation webhook goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "an http(s) URL or { env = \"SLUICE_…\" }"
)]
pub enum WebhookTarget {
    /// An `http://` or `https://` URL.
    Url(String),
    /// The URL is the value of this environment variable.
    Env {
        /// The variable's name.
        env: String,
    },
}

impl OwnershipSpec {
    /// Checks the owner's name, the contact, the SLA and the escalation
    /// target; the reason names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        validate_name("ownership.owner", &self.owner).map_err(|e| e.to_string())?;
        if self.owner == UNOWNED {
            return Err(format!(
                "ownership.owner {UNOWNED:?} is reserved for workflows without one"
            ));
        }
        if let Some(contact) = &self.contact
            && (contact.trim().is_empty() || contact.len() > 200 || contact.contains('\n'))
        {
            return Err("ownership.contact must be one line of 1-200 characters".into());
        }
        if self.sla_s == Some(0) {
            return Err("ownership.sla_s must be at least 1".into());
        }
        if let Some(escalation) = &self.escalation {
            escalation.validate()?;
        }
        Ok(())
    }
}

impl EscalationSpec {
    fn validate(&self) -> Result<(), String> {
        validate_env_name("ownership.escalation.secret_env", &self.secret_env)?;
        match &self.webhook {
            WebhookTarget::Url(url) => super::validate_url("ownership.escalation.webhook", url),
            WebhookTarget::Env { env } if *env == self.secret_env => Err(
                "ownership.escalation: the webhook URL and the secret need two variables".into(),
            ),
            WebhookTarget::Env { env } => {
                validate_env_name("ownership.escalation.webhook.env", env)
            }
        }
    }
}

/// An environment variable's name as the shells and Kubernetes take it.
fn validate_env_name(key: &str, name: &str) -> Result<(), String> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key} {name:?} is not an environment variable name ([A-Z][A-Z0-9_]*)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OwnershipSpec, String> {
        let spec: OwnershipSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        spec.validate()?;
        Ok(spec)
    }

    #[test]
    fn a_full_table_parses_with_a_url_or_an_env_reference() -> Result<(), String> {
        let by_url = parse(
            "owner = \"front-of-house\"\ncontact = \"#reservations on chat\"\nsla_s = 60\n\
             escalation = { webhook = \"https://hooks.example/escalate\", secret_env = \"SLUICE_ESC_SECRET\" }",
        )?;
        assert_eq!(by_url.sla_s, Some(60));
        let escalation = by_url.escalation.ok_or("escalation")?;
        assert_eq!(
            escalation.webhook,
            WebhookTarget::Url("https://hooks.example/escalate".into())
        );
        let by_env = parse(
            "owner = \"sales-ops\"\n[escalation]\nwebhook = { env = \"SLUICE_ESC_URL\" }\n\
             secret_env = \"SLUICE_ESC_SECRET\"",
        )?;
        let target = by_env.escalation.ok_or("escalation")?.webhook;
        assert_eq!(
            target,
            WebhookTarget::Env {
                env: "SLUICE_ESC_URL".into()
            }
        );
        assert_eq!(parse("owner = \"ops\"")?.escalation, None);
        Ok(())
    }

    #[test]
    fn the_owner_is_required_and_must_be_a_label_value() {
        let missing = parse("sla_s = 60").expect_err("no owner");
        assert!(missing.contains("owner"), "{missing}");
        for bad in ["", "Front Of House", "a.b", UNOWNED] {
            let err = parse(&format!("owner = {bad:?}")).expect_err(bad);
            assert!(err.contains("owner"), "{bad}: {err}");
        }
        let typo = parse("owner = \"ops\"\nsla = 60").expect_err("unknown key");
        assert!(typo.contains("sla"), "{typo}");
    }

    #[test]
    fn sla_contact_and_escalation_are_checked() {
        let err = parse("owner = \"ops\"\nsla_s = 0").expect_err("zero SLA");
        assert!(err.contains("sla_s"), "{err}");
        let err = parse("owner = \"ops\"\ncontact = \"  \"").expect_err("blank contact");
        assert!(err.contains("contact"), "{err}");
        let escalation = |webhook: &str, secret: &str| {
            parse(&format!(
                "owner = \"ops\"\nescalation = {{ webhook = {webhook}, secret_env = {secret:?} }}"
            ))
        };
        let secret = "SLUICE_ESC_SECRET";
        for url in [
            "\"ftp://x\"",
            "\"https://\"",
            "\"whsec_abc\"",
            "\"http://a b\"",
        ] {
            let err = escalation(url, secret).expect_err(url);
            assert!(err.contains("not an http(s) URL"), "{url}: {err}");
        }
        let err = escalation("\"https://h\"", "sluice_lower").expect_err("lower-case env");
        assert!(err.contains("secret_env"), "{err}");
        let err = escalation("{ env = \"SLUICE_X\" }", "SLUICE_X").expect_err("one variable");
        assert!(err.contains("two variables"), "{err}");
        let err = escalation("{ url = \"https://h\" }", secret).expect_err("unknown table");
        assert!(err.contains("http(s) URL or { env"), "{err}");
        let err = parse("owner = \"ops\"\nescalation = { webhook = \"https://h\" }")
            .expect_err("no secret");
        assert!(err.contains("secret_env"), "{err}");
    }

    fn shipped(name: &str) -> String {
        let path = format!(
            "{}/../../workflows/{name}/workflow.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("shipped workflow")
    }

    #[test]
    fn the_shipped_workflows_declare_their_owners() -> Result<(), crate::Error> {
        let reservation = crate::WorkflowSpec::parse(&shipped("reservation"), "reservation")?;
        assert_eq!(reservation.owner(), Some("front-of-house"));
        assert_eq!(reservation.review_sla_s(), Some(3600));
        let escalation = reservation.ownership.and_then(|o| o.escalation);
        assert!(
            matches!(
                escalation.map(|e| e.webhook),
                Some(WebhookTarget::Env { .. })
            ),
            "the URL is the deployment's"
        );
        let crm = crate::WorkflowSpec::parse(&shipped("crm-enrichment"), "crm")?;
        assert_eq!(crm.owner(), Some("sales-ops"));
        assert_eq!(crm.review_sla_s(), Some(86400));
        Ok(())
    }

    #[test]
    fn the_older_review_sla_still_counts_but_not_beside_the_new_one() -> Result<(), crate::Error> {
        let current = shipped("reservation");
        let older = current
            .replace("sla_s = 3600\n", "")
            .replace("\n[[actions]]", "\n[review]\nsla_s = 600\n\n[[actions]]");
        let spec = crate::WorkflowSpec::parse(&older, "older.toml")?;
        assert_eq!(spec.review_sla_s(), Some(600));
        assert_eq!(spec.owner(), Some("front-of-house"));
        let opened = chrono::Utc::now();
        assert_eq!(
            spec.review_due(opened),
            Some(opened + chrono::Duration::seconds(600))
        );

        let twice = current.replace("\n[[actions]]", "\n[review]\nsla_s = 600\n\n[[actions]]");
        let err = crate::WorkflowSpec::parse(&twice, "twice.toml").expect_err("twice");
        assert!(err.to_string().contains("declared twice"), "{err}");

        let unowned = current.replace("owner = \"front-of-house\"\n", "");
        let err = crate::WorkflowSpec::parse(&unowned, "unowned.toml").expect_err("no owner");
        assert!(err.to_string().contains("owner"), "{err}");
        Ok(())
    }
}
