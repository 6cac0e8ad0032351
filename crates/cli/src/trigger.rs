//! `sluice trigger <workflow> --input file.json`: starts one execution by
//! hand through ingest's `POST /v1/workflows/<workflow>/trigger`, with the
//! operator's ledger token. Ingest checks the token, the rate limit and the
//! source's schema, so the command and an upstream calling the endpoint are
//! held to the same rules.
//!
//! The idempotency key defaults to one derived from the input, so running
//! the same command twice (a retry after a timeout, a double Enter) answers
//! the same execution; `--key` names a new request explicitly.

use std::io::{Read as _, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use sluice_core::ExecutionId;
use sluice_core::error::root_cause;

use crate::CliConfig;
use crate::error::CliError;

/// Arguments of `sluice trigger`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The workflow to start.
    pub workflow: String,
    /// The event: a JSON file of one of the workflow's sources (`-` reads
    /// standard input).
    #[arg(long)]
    pub input: PathBuf,
    /// Which source the input is an event of, when several feed the
    /// workflow.
    #[arg(long)]
    pub source: Option<String>,
    /// Names the request: the same key is the same execution (default:
    /// derived from the input, so the same input is one execution).
    #[arg(long)]
    pub key: Option<String>,
    /// Ingest's HTTP API.
    #[arg(
        long,
        env = "SLUICE_INGEST_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub ingest_url: String,
}

/// Runs `sluice trigger`.
pub async fn run(
    args: TriggerArgs,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let token = config.ledger_token.as_deref().ok_or_else(|| {
        CliError::Usage(
            "a trigger needs your ledger token (set SLUICE_LEDGER_TOKEN or --token)".to_owned(),
        )
    })?;
    let input = read_input(&args.input)?;
    let key = args
        .key
        .clone()
        .unwrap_or_else(|| default_key(&args.workflow, &input));
    let base = args.ingest_url.trim_end_matches('/');
    let url = format!("{base}/v1/workflows/{}/trigger", args.workflow);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(
            config.connect_timeout_ms.max(1_000) * 2,
        ))
        .build()?;
    let mut request = http
        .post(&url)
        .bearer_auth(token)
        .header("idempotency-key", &key)
        .json(&input);
    if let Some(source) = &args.source {
        request = request.query(&[("source", source)]);
    }
    let response = request.send().await.map_err(|e| {
        CliError::Unreachable(format!("cannot reach ingest at {base}: {}", root_cause(&e)))
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(refused(status, &body, retry_after.as_deref()).into());
    }
    if json {
        writeln!(out, "{}", json!({ "key": key, "accepted": body }))?;
        return Ok(());
    }
    for execution in body["executions"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "triggered {}: execution {} (key {key}, correlation {})",
            execution["workflow"].as_str().unwrap_or(&args.workflow),
            execution["execution_id"].as_str().unwrap_or("?"),
            body["correlation_id"].as_str().unwrap_or("?"),
        )?;
    }
    writeln!(
        out,
        "follow it with: sluice executions show <execution>, or sluice trace"
    )?;
    Ok(())
}

fn read_input(path: &PathBuf) -> Result<Value, CliError> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", path.display())))
}

/// A key that is the same for the same workflow and input (compared as
/// JSON, so formatting and key order do not matter).
fn default_key(workflow: &str, input: &Value) -> String {
    let canonical = input.to_string();
    format!(
        "input-{}",
        ExecutionId::derive("sluice-trigger", &canonical, workflow)
    )
}

/// Ingest's refusal as the operator reads it, with the exit code it means.
fn refused(status: reqwest::StatusCode, body: &Value, retry_after: Option<&str>) -> CliError {
    let message = body["message"].as_str().unwrap_or("no explanation given");
    let mut text = format!("ingest refused the trigger ({status}): {message}");
    for violation in body["errors"].as_array().into_iter().flatten() {
        let at = violation["path"]
            .as_str()
            .or_else(|| violation["instance_path"].as_str())
            .unwrap_or("");
        let why = violation["message"].as_str().unwrap_or("");
        text.push_str(&format!("\n  {at}: {why}"));
    }
    if let Some(secs) = retry_after {
        text.push_str(&format!(" (retry after {secs} s)"));
    }
    match status.as_u16() {
        400 | 413 | 422 => CliError::Usage(text),
        404 => CliError::NotFound(text),
        503 => CliError::Unreachable(text),
        _ => CliError::Failed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_is_the_same_key_however_it_is_written() -> anyhow::Result<()> {
        let a: Value = serde_json::from_str(r#"{"id": "1", "text": "hi"}"#)?;
        let b: Value = serde_json::from_str("{\"text\":\"hi\",\n \"id\":\"1\"}")?;
        assert_eq!(
            default_key("reservation", &a),
            default_key("reservation", &b)
        );
        assert_ne!(
            default_key("reservation", &a),
            default_key("crm-enrichment", &a)
        );
        let other: Value = serde_json::from_str(r#"{"id": "2", "text": "hi"}"#)?;
        assert_ne!(
            default_key("reservation", &a),
            default_key("reservation", &other)
        );
        Ok(())
    }

    #[test]
    fn refusals_map_to_exit_codes_and_show_the_violations() {
        let body = json!({
            "error": "schema_mismatch",
            "message": "the payload does not match the source's schema",
            "errors": [{ "instance_path": "/text", "message": "is required" }],
        });
        let err = refused(reqwest::StatusCode::UNPROCESSABLE_ENTITY, &body, None);
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(err.to_string().contains("/text: is required"), "{err}");
        let limited = refused(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            &json!({}),
            Some("3"),
        );
        assert!(limited.to_string().contains("retry after 3 s"), "{limited}");
        let unknown = refused(reqwest::StatusCode::NOT_FOUND, &json!({}), None);
        assert_eq!(unknown.exit_code(), crate::error::EXIT_NOT_FOUND);
    }
}
