//! Making codes and checking them without keeping them: random digits, an
//! HMAC-SHA256 under the server's code key (so a stolen row cannot be reversed by
//! trying the 10^6 codes without the key), and a comparison whose time does not
//! depend on where bytes differ.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use std::fmt::Write;

/// The server's secret for code hashes and throttle keys: 32 bytes.
pub struct CodeKey(SecretBox<[u8; 32]>);

impl CodeKey {
    /// The key as given.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A key derived from another secret with a domain label, so the same secret
    /// used elsewhere (a JWT signing key) yields an unrelated key here.
    pub fn derive(secret: &[u8], label: &str) -> Self {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
        mac.update(label.as_bytes());
        Self::from_bytes(mac.finalize().into_bytes().into())
    }

    /// A fresh random key (codes made under it die with the process).
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_bytes(bytes))
    }

    /// HMAC-SHA256 of `parts` (each length-prefixed, so they cannot run into each
    /// other), as hex.
    pub(super) fn tag(&self, parts: &[&str]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex(&mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

/// Bytes of salt per challenge.
const SALT_BYTES: usize = 16;

/// Random bytes at or above this are rejected: 250 is the largest multiple of 10
/// that fits in a byte, so `byte % 10` below it is uniform.
const DIGIT_LIMIT: u8 = 250;

/// A random code of `length` decimal digits.
pub(super) fn generate(length: usize) -> Result<String, getrandom::Error> {
    let mut code = String::with_capacity(length);
    let mut buffer = [0u8; 32];
    while code.len() < length {
        getrandom::fill(&mut buffer)?;
        code.extend(
            buffer
                .iter()
                .filter_map(|&b| digit(b))
                .take(length - code.len()),
        );
    }
    Ok(code)
}

/// The digit a random byte stands for, or `None` when it must be drawn again.
fn digit(byte: u8) -> Option<char> {
    (byte < DIGIT_LIMIT).then(|| char::from(b'0' + byte % 10))
}

/// A fresh random salt, as hex.
pub(super) fn salt() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SALT_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// The stored form of `code`: an HMAC under `key` over the row's salt and the code.
pub(super) fn hash(key: &CodeKey, salt: &str, code: &str) -> String {
    key.tag(&["otp-code", salt, code])
}

/// Whether `code` is the one `expected_hash` was made from with `salt` and `key`.
pub(super) fn matches(key: &CodeKey, salt: &str, expected_hash: &str, code: &str) -> bool {
    constant_time_eq(hash(key, salt, code).as_bytes(), expected_hash.as_bytes())
}

/// Byte equality that looks at every byte, so timing tells an attacker nothing
/// about how much of a guess was right. Lengths are not secret (always 64 here).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_asked_length() {
        for length in [4, 6, 8, 12] {
            let code = generate(length).unwrap();
            assert_eq!(code.len(), length);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn bytes_that_would_bias_the_digits_are_drawn_again() {
        assert_eq!(digit(0), Some('0'));
        assert_eq!(digit(249), Some('9'));
        assert_eq!(digit(250), None);
        assert_eq!(digit(255), None);
        // Every digit comes from exactly 25 accepted byte values.
        let mut counts = [0u32; 10];
        for b in 0..=u8::MAX {
            if let Some(d) = digit(b) {
                counts[usize::from(d as u8 - b'0')] += 1;
            }
        }
        assert_eq!(counts, [25; 10]);
    }

    #[test]
    fn every_digit_turns_up() {
        let digits = generate(2_000).unwrap();
        for d in '0'..='9' {
            assert!(digits.contains(d), "digit {d} never drawn in 2000");
        }
    }

    fn key(byte: u8) -> CodeKey {
        CodeKey::from_bytes([byte; 32])
    }

    #[test]
    fn the_hash_is_an_hmac_under_the_server_key() {
        let salt = salt().unwrap();
        assert_eq!(salt.len(), 32);
        let stored = hash(&key(1), &salt, "123456");
        assert_eq!(stored.len(), 64);
        assert_ne!(stored, hash(&key(2), &salt, "123456"), "the key matters");
        assert_ne!(stored, hash(&key(1), "00", "123456"), "the salt matters");
        // A per-row salted SHA-256 let anyone holding the row try the 10^6 codes;
        // the right code does not verify against the row without the key.
        let mut sha = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut sha, salt.as_bytes());
        sha2::Digest::update(&mut sha, b"123456");
        assert_ne!(hex(&sha2::Digest::finalize(sha)), stored);
    }

    #[test]
    fn matching_compares_the_whole_hash() {
        let k = key(7);
        let stored = hash(&k, "salt", "123456");
        assert!(matches(&k, "salt", &stored, "123456"));
        assert!(!matches(&k, "salt", &stored, "123457"));
        assert!(!matches(&k, "other", &stored, "123456"));
        assert!(!matches(&key(8), "salt", &stored, "123456"));
        assert!(
            !matches(&k, "salt", &stored[..63], "123456"),
            "a truncated hash never matches"
        );
    }

    #[test]
    fn derived_keys_depend_on_secret_and_label() {
        let a = CodeKey::derive(b"jwt-secret", "label-a").tag(&["x"]);
        assert_eq!(a, CodeKey::derive(b"jwt-secret", "label-a").tag(&["x"]));
        assert_ne!(a, CodeKey::derive(b"jwt-secret", "label-b").tag(&["x"]));
        assert_ne!(a, CodeKey::derive(b"other", "label-a").tag(&["x"]));
    }

    #[test]
    fn constant_time_eq_is_plain_equality() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdef", b"xbcdef"), "first byte");
        assert!(!constant_time_eq(b"abcdef", b"abcdex"), "last byte");
        assert!(!constant_time_eq(b"abc", b"abcd"), "length");
    }
}
