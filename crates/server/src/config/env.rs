//! Typed access to environment variables; blank values count as unset.

use super::ConfigError;
use std::str::FromStr;

/// Typed access to variables; blank values count as unset.
pub(super) struct Env<F>(pub(super) F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub(super) fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn parse<T: FromStr>(
        &self,
        var: &'static str,
        expected: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| ConfigError {
                var,
                problem: format!("'{raw}' is not {expected}"),
            }),
        }
    }

    pub(super) fn positive(&self, var: &'static str, default: u32) -> Result<u32, ConfigError> {
        let value = self.parse(var, "a positive integer", default)?;
        if value == 0 {
            return Err(ConfigError {
                var,
                problem: "must be greater than 0".into(),
            });
        }
        Ok(value)
    }

    /// A comma-separated list, blanks dropped.
    pub(super) fn list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError {
                var,
                problem: format!("'{other}' is not a boolean (use 1 or 0)"),
            }),
        }
    }
}
