//! Who may see a document.

use serde::{Deserialize, Serialize};

/// A document's access list. `Org` (the default) means everyone in the document's
/// organisation; `Restricted` means only the listed users and groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "visibility", rename_all = "snake_case")]
pub enum Acl {
    #[default]
    Org,
    Restricted {
        #[serde(default)]
        users: Vec<String>,
        #[serde(default)]
        groups: Vec<String>,
    },
}

/// The asker, as retrieval sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The asker's organisation; documents of other organisations are invisible.
    pub org: Option<String>,
    /// The verified user id, if any.
    pub user_id: Option<String>,
    pub groups: Vec<String>,
}

impl Access {
    /// An anonymous asker in `org`: sees only org-public documents.
    pub fn anonymous(org: impl Into<String>) -> Self {
        Self {
            org: Some(org.into()),
            user_id: None,
            groups: Vec::new(),
        }
    }

    /// Whether this asker may see a document of `doc_org` with `acl`. A document
    /// with no organisation belongs to every organisation (configuration files).
    pub fn can_see(&self, doc_org: Option<&str>, acl: &Acl) -> bool {
        if let Some(doc_org) = doc_org
            && self.org.as_deref() != Some(doc_org)
        {
            return false;
        }
        match acl {
            Acl::Org => true,
            Acl::Restricted { users, groups } => {
                self.user_id.as_ref().is_some_and(|u| users.contains(u))
                    || self.groups.iter().any(|g| groups.contains(g))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_documents_need_a_listed_user_or_group() {
        let acl = Acl::Restricted {
            users: vec!["u1".into()],
            groups: vec!["g1".into()],
        };
        let anonymous = Access::anonymous("o");
        assert!(!anonymous.can_see(Some("o"), &acl));
        assert!(anonymous.can_see(Some("o"), &Acl::Org));
        assert!(anonymous.can_see(None, &Acl::Org));
        let member = Access {
            groups: vec!["g1".into()],
            ..anonymous.clone()
        };
        assert!(member.can_see(Some("o"), &acl));
        let user = Access {
            user_id: Some("u1".into()),
            ..anonymous.clone()
        };
        assert!(user.can_see(Some("o"), &acl));
        assert!(
            !user.can_see(Some("other"), &Acl::Org),
            "other organisations stay invisible"
        );
    }
}
