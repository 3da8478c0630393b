//! Verifying a widget's signed `authContext`.
//!
//! The integrator's backend signs `"<userId>:<timestamp>"` (epoch seconds) with
//! HMAC-SHA256 under the policy's key and hands the hex digest to its page. The
//! signature is accepted within [`WINDOW_SECS`] of the server clock, either way.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use switchboard_protocol::AuthContext;

/// How far a signature's timestamp may be from the server clock, in seconds.
pub const WINDOW_SECS: u64 = 60;

/// Why an `authContext` was refused. The texts are for the integrator; none
/// reveals anything about the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the agent's widget policy has no key to verify it with")]
    NoKey,
    #[error(
        "timestamp {timestamp} is not within {WINDOW_SECS} seconds of the server clock \
         ({now}); it must be in epoch seconds"
    )]
    OutsideWindow { timestamp: i64, now: i64 },
    #[error("signature must be the 64 hex characters of an HMAC-SHA256")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks `context` against `key` at `now` (epoch seconds).
pub fn verify(context: &AuthContext, key: &[u8], now: i64) -> Result<(), SignatureError> {
    if context.timestamp.abs_diff(now) > WINDOW_SECS {
        return Err(SignatureError::OutsideWindow {
            timestamp: context.timestamp,
            now,
        });
    }
    let signature = decode_hex(&context.signature).ok_or(SignatureError::Malformed)?;
    mac(key, &context.user_id, context.timestamp)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The hex signature of `user_id` at `timestamp`, as an integrator computes it.
pub fn sign(key: &[u8], user_id: &str, timestamp: i64) -> String {
    let digest = mac(key, user_id, timestamp).finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &[u8], user_id: &str, timestamp: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("{user_id}:{timestamp}").as_bytes());
    mac
}

/// Exactly 32 bytes of hex (either case), else `None`.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        // Two hex digits are at most 255.
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"widget-key";
    const AT: i64 = 1_700_000_000;
    /// HMAC-SHA256("widget-key", "user-42:1700000000"), computed independently
    /// (Python's `hmac`).
    const KNOWN: &str = "abdaea93f000e2f352e21bc0c48b2e81bc162a2f26a344a73555218450584326";

    fn context(user_id: &str, signature: &str, timestamp: i64) -> AuthContext {
        AuthContext {
            user_id: user_id.into(),
            signature: signature.into(),
            timestamp,
        }
    }

    #[test]
    fn signs_user_colon_timestamp_as_lowercase_hex() {
        assert_eq!(sign(KEY, "user-42", AT), KNOWN);
    }

    #[test]
    fn a_valid_signature_verifies_in_either_hex_case() {
        assert_eq!(verify(&context("user-42", KNOWN, AT), KEY, AT), Ok(()));
        let upper = KNOWN.to_uppercase();
        assert_eq!(verify(&context("user-42", &upper, AT), KEY, AT), Ok(()));
    }

    #[test]
    fn the_window_is_sixty_seconds_either_way_inclusive() {
        for now in [AT - 60, AT, AT + 60] {
            assert_eq!(verify(&context("user-42", KNOWN, AT), KEY, now), Ok(()));
        }
        for now in [AT - 61, AT + 61, 0, i64::MAX, i64::MIN] {
            assert!(matches!(
                verify(&context("user-42", KNOWN, AT), KEY, now),
                Err(SignatureError::OutsideWindow { .. })
            ));
        }
    }

    #[test]
    fn milliseconds_are_refused_with_a_hint() {
        let ms = AT * 1000;
        let err = verify(&context("u", &sign(KEY, "u", ms), ms), KEY, AT).unwrap_err();
        assert!(err.to_string().contains("epoch seconds"), "{err}");
    }

    #[test]
    fn tampering_with_anything_signed_is_refused() {
        let mut flipped = KNOWN.to_owned();
        flipped.replace_range(0..1, "b");
        assert_eq!(
            verify(&context("user-42", &flipped, AT), KEY, AT),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&context("user-43", KNOWN, AT), KEY, AT),
            Err(SignatureError::Mismatch),
            "another user"
        );
        assert_eq!(
            verify(&context("user-42", KNOWN, AT + 1), KEY, AT),
            Err(SignatureError::Mismatch),
            "another timestamp"
        );
        assert_eq!(
            verify(&context("user-42", KNOWN, AT), b"other-key", AT),
            Err(SignatureError::Mismatch),
            "another key"
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        for bad in [
            "",
            "abc",
            &KNOWN[..62],
            &format!("{KNOWN}00"),
            &"zz".repeat(32),
        ] {
            assert_eq!(
                verify(&context("user-42", bad, AT), KEY, AT),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}
