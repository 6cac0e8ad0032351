//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! The sender signs `"{webhook-id}.{webhook-timestamp}.{body}"` with
//! HMAC-SHA256 under a secret written `whsec_<base64>`, and sends one or more
//! space-separated `v1,<base64 signature>` entries in `webhook-signature`.
//! A request verifies when its timestamp is within the tolerance of now (in
//! either direction) and any entry matches under any of the source's secrets
//! (several secrets at once while an upstream rotates). Comparison is
//! constant-time (`ring::hmac::verify`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ring::hmac;

/// The `webhook-id` header.
pub const ID_HEADER: &str = "webhook-id";
/// The `webhook-timestamp` header (integer Unix seconds).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The `webhook-signature` header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The prefix of a secret as written in configuration.
pub const SECRET_PREFIX: &str = "whsec_";

/// One signing secret, decoded. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Secret {
    key: hmac::Key,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why a secret or a request was refused. Messages name the header, never a
/// secret or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The secret is not `whsec_<base64>` of at least one byte.
    #[error("secret is not whsec_<base64>")]
    BadSecret,
    /// A required header is absent or empty.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not an integer.
    #[error("webhook-timestamp is not an integer")]
    BadTimestamp,
    /// The timestamp is further from now than the tolerance.
    #[error("webhook-timestamp is outside the {tolerance_secs} s tolerance")]
    StaleTimestamp {
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No `v1` entry matched any secret.
    #[error("no matching signature")]
    NoMatch,
}

impl Secret {
    /// Decodes `whsec_<base64>` (the prefix is optional, as in the official
    /// libraries; missing base64 padding is tolerated).
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix(SECRET_PREFIX).unwrap_or(encoded);
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| STANDARD_NO_PAD.decode(encoded.trim_end_matches('=')))
            .map_err(|_| SignatureError::BadSecret)?;
        if bytes.is_empty() {
            return Err(SignatureError::BadSecret);
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &bytes),
        })
    }
}

/// The three Standard Webhooks headers of one request.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Signs `body` as a sender would, returning the `webhook-signature` value
/// (`v1,<base64>`). Used by the dead-letter service's escalation webhooks,
/// tests, the demo and `sluice dev`.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&secret.key, &signed_content(id, timestamp, body));
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// Verifies a request at `now` (Unix seconds) and returns its `webhook-id`.
pub fn verify<'a>(
    headers: SignedHeaders<'a>,
    body: &[u8],
    secrets: &[Secret],
    tolerance_secs: u64,
    now: i64,
) -> Result<&'a str, SignatureError> {
    let present = |value: Option<&'a str>, name| {
        value
            .filter(|v| !v.is_empty())
            .ok_or(SignatureError::MissingHeader(name))
    };
    let id = present(headers.id, ID_HEADER)?;
    let timestamp_text = present(headers.timestamp, TIMESTAMP_HEADER)?;
    let signatures = present(headers.signature, SIGNATURE_HEADER)?;
    let timestamp: i64 = timestamp_text
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::StaleTimestamp { tolerance_secs });
    }
    let content = signed_content(id, timestamp, body);
    let candidates: Vec<Vec<u8>> = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    // Every pair is tried: which secret matched must not show in the timing
    // beyond what the entry count already tells.
    let mut matched = false;
    for secret in secrets {
        for candidate in &candidates {
            matched |= hmac::verify(&secret.key, &content, candidate).is_ok();
        }
    }
    if matched {
        Ok(id)
    } else {
        Err(SignatureError::NoMatch)
    }
}

fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(signature: &str) -> SignedHeaders<'_> {
        SignedHeaders {
            id: Some(ID),
            timestamp: Some("1614265330"),
            signature: Some(signature),
        }
    }

    fn secret(text: &str) -> Secret {
        Secret::parse(text).expect("secret")
    }

    #[test]
    fn the_specification_test_vector_signs_and_verifies() {
        assert_eq!(sign(&secret(SECRET), ID, TS, BODY), EXPECTED);
        let verified = verify(headers(EXPECTED), BODY, &[secret(SECRET)], 300, TS);
        assert_eq!(verified, Ok(ID));
    }

    #[test]
    fn any_entry_under_any_secret_verifies() {
        let other = secret("whsec_c2x1aWNlLWluZ2VzdC1maXh0dXJlLXNlY3JldC0zMmI=");
        let list = format!("v1,bm90IGl0 v1a,ignored {EXPECTED}");
        let secrets = [other.clone(), secret(SECRET)];
        assert_eq!(verify(headers(&list), BODY, &secrets, 300, TS), Ok(ID));
        assert_eq!(
            verify(headers(EXPECTED), BODY, &[other], 300, TS),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn tampering_staleness_and_missing_headers_are_refused() {
        let s = [secret(SECRET)];
        let refused = |h, body, now| verify(h, body, &s, 300, now);
        assert_eq!(
            refused(headers(EXPECTED), b"{\"test\": 1}", TS),
            Err(SignatureError::NoMatch)
        );
        let stale = Err(SignatureError::StaleTimestamp {
            tolerance_secs: 300,
        });
        assert_eq!(refused(headers(EXPECTED), BODY, TS + 301), stale);
        assert_eq!(refused(headers(EXPECTED), BODY, TS - 301), stale);
        assert_eq!(refused(headers(EXPECTED), BODY, TS + 300), Ok(ID));
        let mut h = headers(EXPECTED);
        h.id = None;
        assert_eq!(
            refused(h, BODY, TS),
            Err(SignatureError::MissingHeader(ID_HEADER))
        );
        let mut h = headers(EXPECTED);
        h.timestamp = Some("soon");
        assert_eq!(refused(h, BODY, TS), Err(SignatureError::BadTimestamp));
        assert_eq!(
            refused(headers("v1,%%%"), BODY, TS),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn secrets_must_be_base64() {
        assert!(Secret::parse("whsec_!!!").is_err());
        assert!(Secret::parse("whsec_").is_err());
        // Unpadded base64, accepted by the official libraries too.
        assert!(Secret::parse("whsec_c2x1aWNl").is_ok());
        assert!(Secret::parse("whsec_c2x1aWNlLQ").is_ok());
    }

    #[test]
    fn vectors_produced_by_the_official_python_library_verify() {
        let text = include_str!("../tests/fixtures/standardwebhooks.json");
        let fixture: serde_json::Value = serde_json::from_str(text).expect("fixture");
        let vectors = fixture["vectors"].as_array().expect("vectors");
        assert!(vectors.len() >= 2);
        for v in vectors {
            let s = secret(v["secret"].as_str().expect("secret"));
            let id = v["msg_id"].as_str().expect("id");
            let ts = v["timestamp"].as_i64().expect("timestamp");
            let body = v["payload"].as_str().expect("payload").as_bytes();
            let signature = v["signature"].as_str().expect("signature");
            assert_eq!(sign(&s, id, ts, body), signature);
            let ts_text = ts.to_string();
            let h = SignedHeaders {
                id: Some(id),
                timestamp: Some(&ts_text),
                signature: Some(signature),
            };
            assert_eq!(verify(h, body, &[s], 300, ts + 10), Ok(id));
        }
    }
}
