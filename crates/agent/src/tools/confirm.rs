//! Which tool calls need a human's approval before they run.

/// Tool-name patterns. In the configuration file a pattern is a glob where `*`
/// matches any run of characters (`delete_*`) and anything else matches exactly;
/// `SMOOTH_AGENT_CONFIRM_TOOLS` entries keep the existing servers' meaning, a
/// substring of the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmPolicy {
    globs: Vec<String>,
}

impl ConfirmPolicy {
    pub fn new(file_patterns: &[String], env_substrings: &[String]) -> Self {
        let globs = file_patterns
            .iter()
            .map(|p| p.trim().to_owned())
            .chain(env_substrings.iter().map(|s| format!("*{}*", s.trim())))
            .filter(|p| !p.is_empty() && p != "**")
            .collect();
        Self { globs }
    }

    pub fn requires_confirmation(&self, tool: &str) -> bool {
        self.globs.iter().any(|glob| matches(glob, tool))
    }
}

/// Glob match where `*` is the only wildcard.
fn matches(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_substrings() {
        let policy = ConfirmPolicy::new(
            &["delete_*".into(), "issue_refund".into()],
            &["write".into()],
        );
        assert!(policy.requires_confirmation("delete_record"));
        assert!(policy.requires_confirmation("issue_refund"));
        assert!(!policy.requires_confirmation("issue_refund_quote"));
        assert!(policy.requires_confirmation("crm_write_contact"));
        assert!(!policy.requires_confirmation("lookup_order"));
        assert!(!ConfirmPolicy::default().requires_confirmation("delete_record"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "acb"));
        assert!(matches("*", "anything"));
    }
}
