//! What callers can make the store keep: metadata caps and quotas per client
//! address and per organisation.

use super::ConfigError;
use super::env::Env;

/// Bounds on stored things that anonymous callers control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageLimits {
    /// `SMOOTH_AGENT_MAX_METADATA_BYTES`: the largest `metadata` of a new session,
    /// as JSON text.
    pub max_metadata_bytes: usize,
    /// `SMOOTH_AGENT_MAX_METADATA_DEPTH`: how deeply `metadata` may nest (the
    /// object itself is depth 1).
    pub max_metadata_depth: usize,
    /// `SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP`: sessions one client address (an
    /// IPv6 /64) may create per clock hour; `None` (0) is unlimited.
    pub sessions_per_hour_per_ip: Option<u64>,
    /// `SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG`: sessions an organisation's callers
    /// may create per clock hour; `None` (0) is unlimited.
    pub sessions_per_hour_per_org: Option<u64>,
    /// `SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG`: bytes an organisation's callers
    /// may have stored per UTC day (session metadata and names, user messages);
    /// `None` (0) is unlimited.
    pub stored_bytes_per_day_per_org: Option<u64>,
}

pub(super) fn storage_limits<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<StorageLimits, ConfigError> {
    let quota = |var: &'static str, default: u64| -> Result<Option<u64>, ConfigError> {
        let value = env.parse::<u64>(var, "a whole number (0 turns the quota off)", default)?;
        Ok((value > 0).then_some(value))
    };
    Ok(StorageLimits {
        max_metadata_bytes: env.positive("SMOOTH_AGENT_MAX_METADATA_BYTES", 16 * 1024)? as usize,
        max_metadata_depth: env.positive("SMOOTH_AGENT_MAX_METADATA_DEPTH", 8)? as usize,
        sessions_per_hour_per_ip: quota("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP", 200)?,
        sessions_per_hour_per_org: quota("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG", 20_000)?,
        stored_bytes_per_day_per_org: quota("SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG", 1 << 30)?,
    })
}

/// How long a turn outlives its client's socket, and its replay buffer's cap.
pub(super) fn resume<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<crate::replay::ResumeConfig, ConfigError> {
    let window = env.parse::<u32>(
        "SMOOTH_AGENT_RESUME_WINDOW_SECS",
        "a number of seconds (0 turns resumable turns off)",
        120,
    )?;
    Ok(crate::replay::ResumeConfig {
        window: (window > 0).then(|| std::time::Duration::from_secs(u64::from(window))),
        cap: crate::replay::Cap {
            bytes: env.positive("SMOOTH_AGENT_RESUME_BUFFER_BYTES", 512 * 1024)? as usize,
            events: env.positive("SMOOTH_AGENT_RESUME_BUFFER_EVENTS", 4096)? as usize,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn limits(vars: &[(&str, &str)]) -> Result<super::StorageLimits, super::ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .map(|c| c.storage_limits)
    }

    #[test]
    fn defaults_zero_turns_a_quota_off_and_bad_values_name_the_variable() {
        let defaults = limits(&[]).unwrap();
        assert_eq!(
            (defaults.max_metadata_bytes, defaults.max_metadata_depth),
            (16_384, 8)
        );
        assert_eq!(defaults.sessions_per_hour_per_ip, Some(200));
        assert_eq!(defaults.sessions_per_hour_per_org, Some(20_000));
        assert_eq!(defaults.stored_bytes_per_day_per_org, Some(1 << 30));
        let off = limits(&[
            ("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP", "0"),
            ("SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG", "0"),
        ])
        .unwrap();
        assert_eq!(off.sessions_per_hour_per_ip, None);
        assert_eq!(off.stored_bytes_per_day_per_org, None);
        let e = limits(&[("SMOOTH_AGENT_MAX_METADATA_DEPTH", "0")]).unwrap_err();
        assert_eq!(e.var, "SMOOTH_AGENT_MAX_METADATA_DEPTH");
        let e = limits(&[("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG", "lots")]).unwrap_err();
        assert_eq!(e.var, "SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG");
    }
}
