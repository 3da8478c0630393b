//! Named skills: reusable instructions a client can invoke for one turn
//! (`send_message.skill`), read from `<root>/<name>/SKILL.md`.

use std::path::PathBuf;

/// The skill folders (`SMOOTH_SKILLS_DIR`, `:`-separated), first match wins.
#[derive(Debug, Clone, Default)]
pub struct SkillLibrary {
    roots: Vec<PathBuf>,
}

impl SkillLibrary {
    pub fn new(roots: Vec<PathBuf>) -> Self {
        Self { roots }
    }

    /// The body of skill `name`, without its front matter; `None` when the name is
    /// not a valid skill name (`[A-Za-z0-9_-]{1,128}`, so it can never reach outside
    /// the skill folders) or no folder has a non-empty `SKILL.md` for it.
    pub fn resolve(&self, name: &str) -> Option<String> {
        if !valid_name(name) {
            return None;
        }
        self.roots.iter().find_map(|root| {
            let text = std::fs::read_to_string(root.join(name).join("SKILL.md")).ok()?;
            let body = strip_front_matter(&text).trim().to_owned();
            (!body.is_empty()).then_some(body)
        })
    }
}

fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Drops a leading `---` … `---` YAML block.
fn strip_front_matter(text: &str) -> &str {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return text;
    };
    match rest.find("\n---") {
        Some(end) => {
            let after = &rest[end + 4..];
            after.split_once('\n').map_or("", |(_, body)| body)
        }
        None => text,
    }
}

/// The system prompt section for a skill invoked this turn.
pub fn prompt_section(name: &str, body: &str) -> String {
    format!("## Skill: {name}\n\nThe user invoked this skill for this turn. Follow it.\n\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_from_the_first_root_and_strips_front_matter() {
        let base = std::env::temp_dir().join(format!("sb-skills-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        std::fs::create_dir_all(a.join("review")).unwrap();
        std::fs::create_dir_all(b.join("review")).unwrap();
        std::fs::create_dir_all(b.join("empty")).unwrap();
        std::fs::write(
            a.join("review/SKILL.md"),
            "---\nname: review\n---\nCheck the diff.\n",
        )
        .unwrap();
        std::fs::write(b.join("review/SKILL.md"), "Second.").unwrap();
        std::fs::write(b.join("empty/SKILL.md"), "---\nname: x\n---\n  \n").unwrap();
        let library = SkillLibrary::new(vec![a, b]);
        assert_eq!(
            library.resolve("review").as_deref(),
            Some("Check the diff.")
        );
        assert_eq!(library.resolve("empty"), None);
        assert_eq!(library.resolve("missing"), None);
        assert_eq!(
            library.resolve("../a/review"),
            None,
            "names cannot reach outside"
        );
        assert_eq!(library.resolve(""), None);
        assert_eq!(SkillLibrary::default().resolve("review"), None);
        std::fs::remove_dir_all(base).unwrap();
    }
}
