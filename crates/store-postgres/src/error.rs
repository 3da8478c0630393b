//! From sqlx errors to [`StoreError`], in one place.

use switchboard_core::StoreError;

/// Maps a failed statement that writes `what` (like `session <id>`): a unique
/// violation means the record exists already; everything else is a backend failure.
pub(crate) fn write_error(what: impl std::fmt::Display) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => backend(error),
    }
}

/// Any other failure. sqlx's messages carry the server's error text, never the
/// connection URL, so they are safe to log.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {error}"))
}

/// Whether `error` is a foreign-key violation: a write that names a missing record.
pub(crate) fn is_missing_reference(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

/// The password inside a connection URL, so that start-up errors can mask it.
pub(crate) struct UrlSecret(Vec<String>);

impl UrlSecret {
    pub(crate) fn of(url: &str) -> Self {
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let authority = after_scheme
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let Some((_, password)) = authority
            .rsplit_once('@')
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
        else {
            return Self(Vec::new());
        };
        // As written in the URL and as the server would see it.
        let mut forms = vec![password.to_owned(), percent_decode(password)];
        forms.retain(|form| !form.is_empty());
        forms.dedup();
        Self(forms)
    }

    /// `message` with every occurrence of the password replaced.
    pub(crate) fn mask(&self, message: String) -> String {
        self.0.iter().fold(message, |message, form| {
            message.replace(form.as_str(), "********")
        })
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_found_and_masked() {
        let secret = UrlSecret::of("postgres://app:s3cr%40t@db:5432/app?sslmode=require");
        assert_eq!(
            secret.mask("bad url postgres://app:s3cr%40t@db".into()),
            "bad url postgres://app:********@db"
        );
        assert_eq!(secret.mask("password s3cr@t".into()), "password ********");
        let none = UrlSecret::of("postgres://app@db/app");
        assert_eq!(none.mask("app@db".into()), "app@db");
    }
}
