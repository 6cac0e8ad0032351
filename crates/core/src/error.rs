//! Errors raised while building or parsing wire contracts.

/// An error in a wire contract: a name that cannot be a subject token, an
/// unknown state, or a workflow spec that does not parse or validate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name used inside a NATS subject contains characters that would change
    /// the subject's meaning (`.`, `*`, `>`, whitespace) or is empty.
    #[error("invalid {kind} name {name:?}: use 1-64 characters from [a-z0-9_-]")]
    InvalidName {
        /// What the name is for (source, workflow, stage, prefix…).
        kind: &'static str,
        /// The offending name.
        name: String,
    },
    /// A string that is not one of the known execution states.
    #[error("unknown execution state {0:?}")]
    UnknownState(String),
    /// A string that is not one of the known pipeline stages.
    #[error("unknown stage {0:?}")]
    UnknownStage(String),
    /// A string that is not one of the known failure classes.
    #[error("unknown failure class {0:?}")]
    UnknownFailureClass(String),
    /// A `workflow.toml` that does not parse.
    #[error("workflow spec {path}: {source}")]
    WorkflowParse {
        /// Where the spec came from.
        path: String,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A `workflow.toml` that parses but breaks a rule.
    #[error("workflow spec {path}: {reason}")]
    WorkflowInvalid {
        /// Where the spec came from.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An envelope that is not valid JSON or not a version this build reads.
    #[error("invalid envelope: {0}")]
    Envelope(#[from] serde_json::Error),
}

/// The innermost cause of `err`, as text: an HTTP client's own message is
/// often only "error sending request", the reason is at the bottom.
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Checks that `name` can stand as one NATS subject token (and as part of a
/// stream or consumer name): lower-case ASCII letters, digits, `_` and `-`.
pub fn validate_name(kind: &'static str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            kind,
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_tokens_and_rejects_subject_syntax() {
        for good in ["reservation", "crm-enrichment", "whatsapp_2"] {
            assert!(validate_name("workflow", good).is_ok(), "{good}");
        }
        for bad in ["", "a.b", "a*", ">", "has space", "Upper", &"x".repeat(65)] {
            assert!(validate_name("workflow", bad).is_err(), "{bad}");
        }
    }
}
