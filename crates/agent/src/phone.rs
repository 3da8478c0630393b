//! Phone numbers to E.164 with libphonenumber's rules (the `phonenumber` port),
//! for identity intake and one-time codes alike.
//!
//! A number written with `+` and its country code is read as given; a national
//! number is read in the deployment's default region
//! (`SMOOTH_AGENT_PHONE_DEFAULT_REGION`, US when unset), so `98765 43210` with
//! region IN is `+919876543210`, and with region US it is refused (987 is no US
//! area code) instead of becoming `+1…`. Only numbers valid for their region pass.

use phonenumber::country::Id;
use phonenumber::{Mode, parse};
use std::str::FromStr;
use std::sync::OnceLock;

/// The region national numbers are read in when none was configured.
pub const FALLBACK_REGION: Id = Id::US;

static DEFAULT_REGION: OnceLock<Id> = OnceLock::new();

/// The region from an ISO 3166 alpha-2 code (`IN`, `gb`), if it is one the
/// phone-number metadata knows.
pub fn region(code: &str) -> Option<Id> {
    Id::from_str(&code.trim().to_ascii_uppercase()).ok()
}

/// Sets the process's default region once, at start; later calls are ignored
/// (the first configuration wins). Returns whether this call set it.
pub fn set_default_region(region: Id) -> bool {
    DEFAULT_REGION.set(region).is_ok()
}

/// The configured default region, or [`FALLBACK_REGION`].
pub fn default_region() -> Id {
    DEFAULT_REGION.get().copied().unwrap_or(FALLBACK_REGION)
}

/// `text` as an E.164 number (`+` and digits), reading a national number in
/// `region`; `None` when it is not a valid number.
pub fn to_e164_in(text: &str, region: Id) -> Option<String> {
    let text = text.trim();
    // Letters are vanity spellings or extensions' words: neither can be sent to.
    if text.is_empty() || text.chars().any(char::is_alphabetic) || text.matches('+').count() > 1 {
        return None;
    }
    let number = parse(Some(region), text).ok()?;
    if number.extension().is_some() || !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(Mode::E164).to_string())
}

/// [`to_e164_in`] with the configured default region.
pub fn to_e164(text: &str) -> Option<String> {
    to_e164_in(text, default_region())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_numbers_stay_indian_with_region_in() {
        let india = region("in").unwrap();
        assert_eq!(
            to_e164_in("+91 98765 43210", india).as_deref(),
            Some("+919876543210")
        );
        assert_eq!(
            to_e164_in("98765 43210", india).as_deref(),
            Some("+919876543210"),
            "a bare 10-digit number is read in the default region"
        );
        assert_eq!(
            to_e164_in("+91 98765 43210", Id::US).as_deref(),
            Some("+919876543210"),
            "a number with its country code keeps it whatever the region"
        );
        assert_eq!(
            to_e164_in("98765 43210", Id::US),
            None,
            "never made +1: 987 is no North American area code"
        );
    }

    #[test]
    fn bare_ten_digit_numbers_become_plus_one_with_region_us() {
        let us = region("US").unwrap();
        for input in [
            "(201) 555-0123",
            "201.555.0123",
            "2015550123",
            "1 201 555 0123",
        ] {
            assert_eq!(
                to_e164_in(input, us).as_deref(),
                Some("+12015550123"),
                "{input}"
            );
        }
        assert_eq!(
            to_e164_in("020 7946 0958", region("GB").unwrap()).as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn what_is_not_a_number_is_refused() {
        for input in [
            "",
            "12",
            "+1234567",
            "++12015550123",
            "+1 201 555 0123 ext 2",
            "call me",
            "+1 201 555 012345678",
        ] {
            assert_eq!(to_e164_in(input, Id::US), None, "{input}");
        }
        assert_eq!(region("XX"), None);
        assert_eq!(region("us"), Some(Id::US));
    }
}
