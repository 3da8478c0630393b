//! Whether a page's `Origin` is one a widget policy allows.
//!
//! A pattern is `*` (any origin, even none), an exact origin
//! (`https://app.example.com`), or `scheme://*.suffix`, which matches that scheme
//! with the host `suffix` itself or any host ending in `.suffix`. A port is part
//! of the host, so `https://*.example.com` does not match `https://a.example.com:8443`.
//! Schemes and hosts compare case-insensitively, as browsers treat them. An empty
//! allowlist matches nothing, and a connection without an `Origin` header has the
//! origin `""`, which only `*` matches.
//!
//! Only browsers are held to this: any other client can send whatever `Origin` it
//! likes.

/// Whether `origin` matches any of `patterns`.
pub fn allowed<S: AsRef<str>>(patterns: &[S], origin: &str) -> bool {
    patterns.iter().any(|p| matches(p.as_ref(), origin))
}

/// Whether `origin` matches one `pattern`.
pub fn matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if origin.is_empty() {
        return false;
    }
    if pattern.eq_ignore_ascii_case(origin) {
        return true;
    }
    let (Some((scheme, host_pattern)), Some((origin_scheme, host))) =
        (pattern.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    let Some(suffix) = host_pattern.strip_prefix("*.") else {
        return false;
    };
    if suffix.is_empty() || !scheme.eq_ignore_ascii_case(origin_scheme) || !plain_host(host) {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let suffix = suffix.to_ascii_lowercase();
    host == suffix
        || host
            .strip_suffix(&suffix)
            .is_some_and(|label| label.ends_with('.') && label.len() > 1)
}

/// A serialised origin's host (and port) has no path, user or query: a header like
/// `https://evil.test/.example.com` must not pass as a subdomain.
fn plain_host(host: &str) -> bool {
    !host.is_empty() && !host.contains(['/', '@', '?', '#', '\\'])
}

/// Why a pattern written by an operator could never match what browsers send, so
/// start-up can refuse it rather than refuse every visitor.
pub fn check(pattern: &str) -> Result<(), String> {
    if pattern == "*" || pattern == "null" {
        return Ok(());
    }
    let Some((scheme, host)) = pattern.split_once("://") else {
        return Err(format!(
            "origin pattern '{pattern}' needs a scheme, like 'https://{pattern}'"
        ));
    };
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err(format!("origin pattern '{pattern}' has an invalid scheme"));
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    if !plain_host(host) {
        return Err(format!(
            "origin pattern '{pattern}' can never match: an origin is scheme://host[:port], \
             with no path or trailing '/'"
        ));
    }
    if host.contains('*') {
        return Err(format!(
            "origin pattern '{pattern}' can never match: '*' is allowed only as '*' \
             or at the start of the host ('https://*.example.com')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_matches_anything_even_no_origin() {
        assert!(allowed(&["*"], "https://anything.test"));
        assert!(allowed(&["*"], ""));
        assert!(allowed(&["*"], "null"));
    }

    #[test]
    fn an_exact_origin_matches_itself_only() {
        let patterns = ["https://app.smoo.ai"];
        assert!(allowed(&patterns, "https://app.smoo.ai"));
        assert!(
            allowed(&patterns, "HTTPS://App.Smoo.AI"),
            "case-insensitive"
        );
        for refused in [
            "http://app.smoo.ai",
            "https://app.smoo.ai:8443",
            "https://www.app.smoo.ai",
            "https://app.smoo.ai.evil.test",
            "",
        ] {
            assert!(!allowed(&patterns, refused), "{refused}");
        }
    }

    #[test]
    fn a_wildcard_matches_the_domain_and_its_subdomains_with_the_same_scheme() {
        let patterns = ["https://*.smoo.ai"];
        for accepted in [
            "https://app.smoo.ai",
            "https://smoo.ai",
            "https://a.b.smoo.ai",
            "https://APP.Smoo.ai",
        ] {
            assert!(allowed(&patterns, accepted), "{accepted}");
        }
        for refused in [
            "http://app.smoo.ai",
            "https://evilsmoo.ai",
            "https://smoo.ai.evil.test",
            "https://.smoo.ai",
            "https://app.smoo.ai:8443",
            "https://evil.test/.smoo.ai",
            "https://user@app.smoo.ai",
            "wss://app.smoo.ai",
            "",
        ] {
            assert!(!allowed(&patterns, refused), "{refused}");
        }
    }

    #[test]
    fn a_port_is_part_of_the_host() {
        let patterns = ["http://*.localhost:3000"];
        assert!(allowed(&patterns, "http://app.localhost:3000"));
        assert!(allowed(&patterns, "http://localhost:3000"));
        assert!(!allowed(&patterns, "http://app.localhost:3001"));
        assert!(!allowed(&patterns, "http://app.localhost"));
    }

    #[test]
    fn an_empty_allowlist_refuses_everything() {
        let none: [&str; 0] = [];
        assert!(!allowed(&none, "https://app.smoo.ai"));
        assert!(!allowed(&none, ""));
    }

    #[test]
    fn any_pattern_of_the_list_may_match() {
        let patterns = ["https://a.test", "https://*.b.test"];
        assert!(allowed(&patterns, "https://a.test"));
        assert!(allowed(&patterns, "https://x.b.test"));
        assert!(!allowed(&patterns, "https://c.test"));
    }

    #[test]
    fn patterns_that_can_never_match_are_reported() {
        for good in [
            "*",
            "null",
            "https://app.smoo.ai",
            "https://*.smoo.ai",
            "http://localhost:3000",
            "chrome-extension://abcdef",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for bad in [
            "app.smoo.ai",
            "*.smoo.ai",
            "https://app.smoo.ai/",
            "https://app.smoo.ai/widget",
            "https://app.*.ai",
            "https://*.",
            "https://",
            "://app.smoo.ai",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
