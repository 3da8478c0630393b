//! Destinations as the visitor is shown them: enough to recognise, not to copy.

use super::Channel;

/// `a***@example.com`: the local part's first character and the whole domain.
pub fn mask_email(address: &str) -> String {
    match address.trim().rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// `***-***-4567`: only the last four digits.
pub fn mask_phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len().checked_sub(4) {
        Some(start) => format!("***-***-{}", digits[start..].iter().collect::<String>()),
        None => "***".to_owned(),
    }
}

/// The masked form of a destination of `channel`.
pub fn mask(channel: Channel, destination: &str) -> String {
    match channel {
        Channel::Email => mask_email(destination),
        Channel::Sms => mask_phone(destination),
    }
}
