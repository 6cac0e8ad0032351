//! Property tests of webhook signatures: any headers and body end in an
//! accepted id or a typed refusal, never a panic; a signed request verifies,
//! and any change to what was signed is refused.

use proptest::prelude::*;
use sluice_ingest::signature::{Secret, SignatureError, SignedHeaders, sign, verify};

const NOW: i64 = 1_764_000_000;
const TOLERANCE: u64 = 300;

fn secret() -> Secret {
    Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_headers_and_body_never_panic(
        id in prop::option::of(any::<String>()),
        timestamp in prop::option::of(any::<String>()),
        signature in prop::option::of(any::<String>()),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let headers = SignedHeaders {
            id: id.as_deref(),
            timestamp: timestamp.as_deref(),
            signature: signature.as_deref(),
        };
        // Random text never carries a valid tag for this secret.
        prop_assert!(verify(headers, &body, &[secret()], TOLERANCE, NOW).is_err());
    }

    #[test]
    fn any_secret_text_parses_or_is_refused(text in any::<String>()) {
        if let Err(err) = Secret::parse(&text) {
            prop_assert_eq!(err, SignatureError::BadSecret);
        }
    }

    #[test]
    fn signed_verifies_and_any_change_is_refused(
        id in "[A-Za-z0-9_.-]{1,40}",
        body in proptest::collection::vec(any::<u8>(), 0..256),
        skew in -(TOLERANCE as i64)..=(TOLERANCE as i64),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let at = NOW + skew;
        let signature = sign(&secret(), &id, at, &body);
        let at_text = at.to_string();
        let headers = SignedHeaders { id: Some(&id), timestamp: Some(&at_text), signature: Some(&signature) };
        prop_assert_eq!(verify(headers, &body, &[secret()], TOLERANCE, NOW), Ok(id.as_str()));

        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 1 << bit;
            prop_assert_eq!(
                verify(headers, &tampered, &[secret()], TOLERANCE, NOW),
                Err(SignatureError::NoMatch)
            );
        }
        let other_id = format!("{id}x");
        let moved = SignedHeaders { id: Some(&other_id), ..headers };
        prop_assert_eq!(verify(moved, &body, &[secret()], TOLERANCE, NOW), Err(SignatureError::NoMatch));
        let stale = NOW + TOLERANCE as i64 + 1 + skew.abs();
        prop_assert_eq!(
            verify(headers, &body, &[secret()], TOLERANCE, stale + skew),
            Err(SignatureError::StaleTimestamp { tolerance_secs: TOLERANCE })
        );
    }
}
