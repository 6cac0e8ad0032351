//! The `http` connector: JSON POST with `Idempotency-Key`, and a GET probe.

use std::time::Duration;

use serde_json::Value;
use sluice_core::FailureClass;

use super::{Applied, Called, Probed};

/// Sends `body` to `url`. A failure to connect is temporary (nothing was
/// sent); a timeout or broken connection after that is ambiguous.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    id_field: &str,
    timeout: Duration,
    key: &str,
    body: &Value,
) -> Called {
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header("Idempotency-Key", key)
        .json(body);
    // The target can join its own spans to the execution's trace.
    if let Some(tp) = sluice_runtime::propagation::current_traceparent() {
        request = request.header("traceparent", tp);
    }
    let sent = request.send().await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return classify_error(&err),
    };
    let status = response.status().as_u16();
    if !response.status().is_success() {
        let text = response.text().await.unwrap_or_default();
        return Called::Failed {
            class: FailureClass::from_http_status(status),
            reason: format!("target answered {status}: {}", trim(&text)),
        };
    }
    match response.bytes().await {
        Ok(bytes) => {
            // The effect happened; an unreadable body only loses the id.
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Called::Applied(applied(status, body, id_field))
        }
        Err(err) => Called::Ambiguous {
            reason: format!("target answered {status} but the body was cut off: {err}"),
        },
    }
}

/// GETs the probe URL with `{key}` replaced: 2xx → found, 404 → not found.
pub async fn probe(
    client: &reqwest::Client,
    probe_url: &str,
    id_field: &str,
    timeout: Duration,
    key: &str,
) -> Probed {
    let url = probe_url.replace("{key}", &encode_segment(key));
    let response = match client.get(&url).timeout(timeout).send().await {
        Ok(r) => r,
        Err(err) => return Probed::Failed(format!("probe failed: {err}")),
    };
    let status = response.status().as_u16();
    if status == 404 {
        return Probed::NotFound;
    }
    if !response.status().is_success() {
        return Probed::Failed(format!("probe answered {status}"));
    }
    match response.json::<Value>().await {
        Ok(body) => Probed::Found(applied(status, body, id_field)),
        Err(err) => Probed::Failed(format!("probe body unreadable: {err}")),
    }
}

/// GETs the record `external_id` from `verify_url` (`{external_id}`
/// replaced): `Ok(Some(body))` when found, `Ok(None)` on 404, `Err` when the
/// target cannot say.
pub async fn read_back(
    client: &reqwest::Client,
    verify_url: &str,
    timeout: Duration,
    external_id: &str,
) -> Result<Option<Value>, String> {
    let url = verify_url.replace("{external_id}", &encode_segment(external_id));
    let response = client
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("reading the record back failed: {e}"))?;
    let status = response.status().as_u16();
    if status == 404 {
        return Ok(None);
    }
    if !response.status().is_success() {
        return Err(format!(
            "reading the record back: the target answered {status}"
        ));
    }
    response
        .json::<Value>()
        .await
        .map(Some)
        .map_err(|e| format!("the record read back is unreadable: {e}"))
}

fn applied(status: u16, body: Value, id_field: &str) -> Applied {
    let external_id = body.get(id_field).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    Applied {
        status,
        body,
        external_id,
    }
}

fn classify_error(err: &reqwest::Error) -> Called {
    if err.is_connect() || err.is_builder() {
        Called::Failed {
            class: FailureClass::Temporary,
            reason: format!("target unreachable: {err}"),
        }
    } else {
        Called::Ambiguous {
            reason: if err.is_timeout() {
                "timed out after the request was sent".to_owned()
            } else {
                format!("connection lost after the request was sent: {err}")
            },
        }
    }
}

/// Percent-encodes what a key may contain that a path segment may not.
fn encode_segment(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn trim(text: &str) -> String {
    text.chars()
        .take(200)
        .collect::<String>()
        .replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_path_segments() {
        assert_eq!(
            super::encode_segment("reservation:wa:id/1 x"),
            "reservation:wa:id%2F1%20x"
        );
    }
}
