//! The identity provider's published keys (`AUTH_JWT_JWKS_URL`).
//!
//! The set is fetched at start-up (a failure stops start-up), kept in memory, and
//! fetched again in the background once it is older than its `Cache-Control:
//! max-age` (bounded; an hour without one), and at once when a token names a key
//! id the set lacks (a rotation), at most once per [`UNKNOWN_KID_COOLDOWN`] so
//! tokens with made-up key ids cannot make this server hammer the provider. A
//! failed refresh keeps the keys already known.

use super::AuthError;
use super::jwt::{Rules, decode};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The least time between two fetches caused by unknown key ids.
pub(super) const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(30);
/// How long one fetch may take, connection to last byte.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest key set accepted.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Keys beyond this many in one set are ignored.
const MAX_KEYS: usize = 64;
/// How long a set is used before it is fetched again, without a `max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// The bounds put on a provider's `max-age`.
const MAX_AGE_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(300), Duration::from_secs(24 * 3600));
/// How soon a failed background refresh is tried again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// One verifying key of the set.
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The keys last fetched and when to fetch them again.
struct Cached {
    keys: Arc<[Key]>,
    stale_at: Instant,
}

/// The provider's key set, cached.
pub(super) struct KeySet {
    url: reqwest::Url,
    http: reqwest::Client,
    rules: Rules,
    cached: RwLock<Cached>,
    /// Held during every fetch, so fetches never overlap; holds when the last fetch
    /// caused by an unknown key id started.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    /// Set while a background refresh is queued or running.
    refreshing: AtomicBool,
}

impl KeySet {
    /// Fetches the set once; an error says why it could not be used.
    pub(super) async fn start(url: reqwest::Url, rules: Rules) -> Result<Arc<Self>, String> {
        let loopback = url.host_str().is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
                || h == "[::1]"
        });
        if url.scheme() == "http" && !loopback {
            tracing::warn!(
                %url,
                "AUTH_JWT_JWKS_URL is plain http: anyone on the path could substitute keys; use https"
            );
        }
        let http = switchboard_agent::http::try_client()?;
        let (keys, max_age) = fetch(&http, &url)
            .await
            .map_err(|e| format!("cannot use the key set at {url}: {e}"))?;
        tracing::info!(%url, keys = keys.len(), "fetched the JWKS");
        Ok(Arc::new(Self {
            url,
            http,
            rules,
            cached: RwLock::new(Cached {
                keys: keys.into(),
                stale_at: Instant::now() + max_age,
            }),
            fetching: tokio::sync::Mutex::new(None),
            refreshing: AtomicBool::new(false),
        }))
    }

    /// The claims of a token signed by a key of the set.
    pub(super) async fn claims(self: &Arc<Self>, token: &str) -> Result<Value, AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let kid = header.kid.as_deref();
        let key = match self.find(kid) {
            Some(key) => key,
            None => {
                let Some(kid) = kid else {
                    return Err(AuthError::Invalid(
                        "the token names no key ('kid') and the key set has several".into(),
                    ));
                };
                self.fetch_for_unknown(kid).await;
                self.find(Some(kid)).ok_or_else(|| {
                    AuthError::Invalid("the token's key id is not in the key set".into())
                })?
            }
        };
        self.refresh_if_stale();
        decode(token, &key.key, &self.rules.validation(key.algorithm))
    }

    /// The key `kid` names; without a `kid`, the set's only key.
    fn find(&self, kid: Option<&str>) -> Option<Key> {
        let keys = self.keys();
        match kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None if keys.len() == 1 => keys.first().cloned(),
            None => None,
        }
    }

    fn keys(&self) -> Arc<[Key]> {
        self.cached
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .clone()
    }

    /// Fetches the set again for a key id it lacks, unless another fetch just
    /// brought it or the last such fetch is more recent than the cooldown.
    async fn fetch_for_unknown(&self, kid: &str) {
        let mut last = self.fetching.lock().await;
        if self.find(Some(kid)).is_some()
            || last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_COOLDOWN)
        {
            return;
        }
        *last = Some(Instant::now());
        tracing::info!(url = %self.url, "a token names an unknown key id; fetching the JWKS");
        self.fetch_and_keep().await;
    }

    /// Starts a background refresh when the set is older than its max-age.
    fn refresh_if_stale(self: &Arc<Self>) {
        let stale = {
            let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
            Instant::now() >= cached.stale_at
        };
        if !stale || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let set = Arc::clone(self);
        tokio::spawn(async move {
            let _fetching = set.fetching.lock().await;
            set.fetch_and_keep().await;
            set.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches the set; on success it replaces the cached one, on failure the
    /// cached keys stay and the fetch is retried later.
    async fn fetch_and_keep(&self) {
        let result = fetch(&self.http, &self.url).await;
        let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok((keys, max_age)) => {
                tracing::info!(url = %self.url, keys = keys.len(), "refreshed the JWKS");
                *cached = Cached {
                    keys: keys.into(),
                    stale_at: Instant::now() + max_age,
                };
            }
            Err(e) => {
                tracing::warn!(url = %self.url, error = %e, "cannot refresh the JWKS; keeping the keys already known");
                cached.stale_at = Instant::now() + RETRY_AFTER_FAILURE;
            }
        }
    }
}

/// Fetches and reads a key set: its usable keys (at least one) and how long to
/// keep them.
async fn fetch(http: &reqwest::Client, url: &reqwest::Url) -> Result<(Vec<Key>, Duration), String> {
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("cannot fetch it: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the provider answered {status}"));
    }
    let max_age = max_age(response.headers());
    let too_large = || format!("it is larger than {} KiB", MAX_BODY_BYTES / 1024);
    if response.content_length().unwrap_or(0) > MAX_BODY_BYTES as u64 {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("cannot read it: {e}"))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let keys = parse(&body)?;
    if keys.is_empty() {
        return Err("it holds no usable key (RS256, ES256 or EdDSA)".into());
    }
    Ok((keys, max_age))
}

/// The usable keys of a JWKS document; others are skipped with a log line.
fn parse(body: &[u8]) -> Result<Vec<Key>, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("it is not a JWK set: {e}"))?;
    if document.keys.len() > MAX_KEYS {
        tracing::warn!(
            keys = document.keys.len(),
            "the JWKS holds more than {MAX_KEYS} keys; the rest are ignored"
        );
    }
    let mut keys = Vec::new();
    for value in document.keys.into_iter().take(MAX_KEYS) {
        let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
        match key(value) {
            Ok(key) => keys.push(key),
            Err(why) => tracing::info!(kid, why, "skipping a key of the JWKS"),
        }
    }
    Ok(keys)
}

/// A signing key this server can verify with: RSA (RS256), P-256 (ES256) or
/// Ed25519 (EdDSA). Each key verifies only tokens of its one algorithm.
fn key(value: Value) -> Result<Key, String> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("not a JWK: {e}"))?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key".into());
    }
    let alg = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) if matches!(alg, None | Some(KeyAlgorithm::RS256)) => {
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(p)
            if p.curve == EllipticCurve::P256
                && matches!(alg, None | Some(KeyAlgorithm::ES256)) =>
        {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(p)
            if p.curve == EllipticCurve::Ed25519
                && matches!(alg, None | Some(KeyAlgorithm::EdDSA)) =>
        {
            Algorithm::EdDSA
        }
        _ => return Err(format!("unsupported key type or algorithm ({alg:?})")),
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key: {e}"))?;
    Ok(Key {
        kid: jwk.common.key_id,
        algorithm,
        key,
    })
}

/// `Cache-Control: max-age`, within [`MAX_AGE_BOUNDS`].
fn max_age(headers: &reqwest::header::HeaderMap) -> Duration {
    let seconds = headers
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|d| d.trim().strip_prefix("max-age=")?.parse::<u64>().ok());
    seconds.map_or(DEFAULT_MAX_AGE, |s| {
        Duration::from_secs(s).clamp(MAX_AGE_BOUNDS.0, MAX_AGE_BOUNDS.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn max_age_is_read_and_bounded() {
        let with = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::CACHE_CONTROL, value.parse().unwrap());
            max_age(&headers)
        };
        assert_eq!(max_age(&Default::default()), DEFAULT_MAX_AGE);
        assert_eq!(with("public, max-age=7200"), Duration::from_secs(7200));
        assert_eq!(with("max-age=0"), MAX_AGE_BOUNDS.0, "no refetch storm");
        assert_eq!(with("max-age=99999999"), MAX_AGE_BOUNDS.1);
        assert_eq!(with("no-cache"), DEFAULT_MAX_AGE);
    }

    #[test]
    fn only_signing_keys_of_supported_algorithms_are_kept() {
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed",
                        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let body = json!({"keys": [
            ed,
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed-enc", "use": "enc", "x": ed["x"]},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed-rs", "alg": "RS256", "x": ed["x"]},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kid": "nothing"},
            "not an object",
        ]});
        let keys = parse(body.to_string().as_bytes()).unwrap();
        let kept: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.as_deref(), k.algorithm))
            .collect();
        assert_eq!(kept, [(Some("ed"), Algorithm::EdDSA)]);
        assert!(parse(b"{\"keys\": 3}").is_err());
        assert!(parse(b"[]").is_err());
    }
}
