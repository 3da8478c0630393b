//! Making codes and checking them without keeping them: random digits, a salted
//! SHA-256 hash, and a comparison whose time does not depend on where bytes differ.

use sha2::{Digest, Sha256};
use std::fmt::Write;

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

/// SHA-256 over the salt's hex text followed by the code, as hex.
pub(super) fn hash(salt: &str, code: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(code.as_bytes());
    hex(&hasher.finalize())
}

/// Whether `code` is the one `expected_hash` was made from with `salt`.
pub(super) fn matches(salt: &str, expected_hash: &str, code: &str) -> bool {
    constant_time_eq(hash(salt, code).as_bytes(), expected_hash.as_bytes())
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

    #[test]
    fn the_hash_is_salted_sha256_hex() {
        // sha256("abc") is a published test vector; salt "a" + code "bc" hashes the same text.
        assert_eq!(
            hash("a", "bc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let salt = salt().unwrap();
        assert_eq!(salt.len(), 32);
        assert_ne!(hash(&salt, "123456"), hash("00", "123456"));
    }

    #[test]
    fn matching_compares_the_whole_hash() {
        let stored = hash("salt", "123456");
        assert!(matches("salt", &stored, "123456"));
        assert!(!matches("salt", &stored, "123457"));
        assert!(!matches("other", &stored, "123456"));
        assert!(
            !matches("salt", &stored[..63], "123456"),
            "a truncated hash never matches"
        );
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
