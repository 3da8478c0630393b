//! Where an organisation's documents live in the shared knowledge base.
//!
//! The knowledge base keys documents and sources by plain strings shared by every
//! organisation (and by the configuration's own sources). Everything the admin API
//! ingests is named under a prefix that embeds the organisation, so one
//! organisation can never replace, list or delete another's documents, nor the
//! configuration's. The organisation is escaped so that no two organisations share
//! a prefix (`a:b` + `c` and `a` + `b:c` stay apart).

use switchboard_core::{ConnectorId, OrgId};

/// The source key of a document ingested through `POST /admin/documents`; each
/// such document is a source of its own, so it can be replaced or deleted alone.
/// It is also the document's stored id.
pub fn upload(org: &OrgId, id: &str) -> String {
    format!("{}{id}", upload_prefix(org))
}

/// The source key of everything a connector indexed.
pub fn connector(org: &OrgId, connector: ConnectorId) -> String {
    format!("connector:{}:{connector}", escape(org))
}

/// The stored id of a document a connector produced with id `id`.
pub fn connector_document(org: &OrgId, connector_id: ConnectorId, id: &str) -> String {
    format!("{}:{id}", connector(org, connector_id))
}

/// Where a stored document of `org` came from, and its id as the organisation
/// knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Upload { id: String },
    Connector { connector: ConnectorId, id: String },
}

/// Reads back a stored document id of `org`; `None` for ids this module did not
/// make for `org`.
pub fn origin(org: &OrgId, stored_id: &str) -> Option<Origin> {
    if let Some(id) = stored_id.strip_prefix(&upload_prefix(org)) {
        return Some(Origin::Upload { id: id.to_owned() });
    }
    let rest = stored_id.strip_prefix(&format!("connector:{}:", escape(org)))?;
    let (connector, id) = rest.split_once(':')?;
    Some(Origin::Connector {
        connector: ConnectorId::parse(connector)?,
        id: id.to_owned(),
    })
}

fn upload_prefix(org: &OrgId) -> String {
    format!("admin:{}:", escape(org))
}

/// `%` and `:` percent-encoded, so the organisation ends at the first `:`.
fn escape(org: &OrgId) -> String {
    org.as_str().replace('%', "%25").replace(':', "%3A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisations_never_share_a_name() {
        let (ab, a) = (OrgId::new("a:b"), OrgId::new("a"));
        assert_ne!(upload(&ab, "c"), upload(&a, "b:c"));
        assert_eq!(origin(&a, &upload(&ab, "c")), None);
        assert_eq!(
            origin(&a, &upload(&a, "b:c")),
            Some(Origin::Upload { id: "b:c".into() })
        );
        assert_eq!(origin(&OrgId::new("a%3Ab"), &upload(&ab, "c")), None);
    }

    #[test]
    fn connector_documents_read_back() {
        let org = OrgId::new("acme");
        let id = ConnectorId::random();
        let stored = connector_document(&org, id, "docs/guide.md");
        assert!(stored.starts_with(&connector(&org, id)));
        assert_eq!(
            origin(&org, &stored),
            Some(Origin::Connector {
                connector: id,
                id: "docs/guide.md".into()
            })
        );
        assert_eq!(origin(&OrgId::new("globex"), &stored), None);
        assert_eq!(origin(&org, "policies/returns.md"), None);
    }
}
