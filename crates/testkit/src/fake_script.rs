//! A fake model's script as a file: prompt hashes and their answers, so a
//! fake can be started without writing Rust (`sluice eval --backend fake`).
//!
//! ```json
//! {
//!   "description": "…",
//!   "default": { "json": { "action": "create_booking" } },
//!   "answers": [
//!     { "case": "happy-bare-hour", "prompt_sha256": "3f1c…", "answer": { "json": { "party_size": 4 } } }
//!   ]
//! }
//! ```

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fake_model::{Answer, FakeModel, Matcher};

/// A script file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeScript {
    /// What the script is and how it was made.
    #[serde(default)]
    pub description: String,
    /// The answer to every prompt the script does not know.
    pub default: ScriptedAnswer,
    /// Answers by prompt hash; the first match wins.
    pub answers: Vec<ScriptedEntry>,
}

/// One scripted prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedEntry {
    /// What the entry is for (an eval case id), for people reading it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// SHA-256 (hex) of the last user message it answers.
    pub prompt_sha256: String,
    /// The answer.
    pub answer: ScriptedAnswer,
}

/// An answer as written in a script file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ScriptedAnswer {
    /// A chat completion whose content is this JSON.
    Json(Value),
    /// A chat completion whose content is this text.
    Content(String),
    /// An HTTP error status.
    Status(u16),
}

impl From<ScriptedAnswer> for Answer {
    fn from(answer: ScriptedAnswer) -> Self {
        match answer {
            ScriptedAnswer::Json(v) => Answer::Json(v),
            ScriptedAnswer::Content(text) => Answer::Content(text),
            ScriptedAnswer::Status(code) => Answer::Status(code),
        }
    }
}

impl FakeScript {
    /// Reads a script file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("fake model script {}", path.display()))?;
        let script: Self = serde_json::from_str(&text)
            .with_context(|| format!("fake model script {}", path.display()))?;
        if let Some(entry) = script.answers.iter().find(|e| !is_sha256(&e.prompt_sha256)) {
            anyhow::bail!(
                "fake model script {}: {:?} is not a SHA-256 in hex",
                path.display(),
                entry.prompt_sha256
            );
        }
        Ok(script)
    }

    /// Writes it as pretty JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("fake model script {}", path.display()))
    }
}

impl FakeModel {
    /// Starts a fake that answers as `script` says.
    pub async fn start_scripted(script: &FakeScript) -> anyhow::Result<Self> {
        let fake = Self::start().await?;
        for entry in &script.answers {
            let hash = Matcher::PromptHash(entry.prompt_sha256.to_ascii_lowercase());
            fake.script(hash, entry.answer.clone().into());
        }
        fake.default_answer(script.default.clone().into());
        Ok(fake)
    }
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_reads_back_what_it_wrote() {
        let script = FakeScript {
            description: "test".into(),
            default: ScriptedAnswer::Status(500),
            answers: vec![ScriptedEntry {
                case: Some("a".into()),
                prompt_sha256: "ab".repeat(32),
                answer: ScriptedAnswer::Json(serde_json::json!({"party_size": 4})),
            }],
        };
        let text = serde_json::to_string(&script).unwrap_or_default();
        assert!(
            text.contains(r#""answer":{"json":{"party_size":4}}"#),
            "{text}"
        );
        let back: FakeScript = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, script);
    }
}
