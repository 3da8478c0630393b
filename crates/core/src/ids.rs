//! Identifier newtypes, parsed at the edge so the rest of the code cannot mix them up.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses a client-supplied id; `None` when it is not a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                Uuid::parse_str(text.trim()).ok().map(Self)
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

uuid_id!(
    /// A session: one client's attachment to a conversation with one agent.
    SessionId
);
uuid_id!(
    /// A conversation thread; sessions come and go, the conversation stays.
    ConversationId
);
uuid_id!(
    /// A participant (user, AI agent or human agent) of one conversation.
    ParticipantId
);
uuid_id!(
    /// A persisted message.
    MessageId
);
uuid_id!(
    /// A knowledge connector an administrator configured.
    ConnectorId
);
uuid_id!(
    /// One run of a connector's indexing.
    IndexingRunId
);

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An agent. On the wire and in new records it is a UUID (lower-case,
    /// hyphenated, see [`AgentId::uuid`]); records written before agents had UUIDs
    /// may hold any non-blank text, which [`AgentId::from_slug`] maps to one.
    AgentId
);

impl AgentId {
    /// The UUID v5 namespace of agent ids derived from a slug. Fixed forever: a
    /// derived id must name the same agent on every server and every release.
    const SLUG_NAMESPACE: Uuid = Uuid::from_u128(0x5b1c_7d2e_8f3a_4b60_9c1d_2e3f_4a5b_6c7d);

    /// `text` as an agent id when it is a UUID (any form `uuid` parses), in the
    /// canonical lower-case hyphenated form.
    pub fn uuid(text: &str) -> Option<Self> {
        Uuid::parse_str(text.trim())
            .ok()
            .map(|id| Self(id.hyphenated().to_string()))
    }

    /// The stable UUID (v5) of an agent known by the name `slug`: how a
    /// configuration file's non-UUID `id`, and records written under one, get a
    /// UUID.
    pub fn from_slug(slug: &str) -> Self {
        Self(
            Uuid::new_v5(&Self::SLUG_NAMESPACE, slug.as_bytes())
                .hyphenated()
                .to_string(),
        )
    }
}

string_id!(
    /// An organisation: the tenant that owns conversations and documents.
    OrgId
);

impl Default for OrgId {
    fn default() -> Self {
        Self::default_org()
    }
}

impl OrgId {
    /// The organisation of connections with no verified identity.
    pub fn default_org() -> Self {
        Self::new("reference-org")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids_are_canonical_uuids_and_slugs_derive_stable_ones() {
        let canonical = "0f1e2d3c-4b5a-4968-8776-655443322110";
        for form in [
            canonical,
            " 0F1E2D3C-4B5A-4968-8776-655443322110 ",
            "0f1e2d3c4b5a49688776655443322110",
        ] {
            assert_eq!(AgentId::uuid(form).unwrap().as_str(), canonical, "{form}");
        }
        assert_eq!(AgentId::uuid("sales"), None);
        let sales = AgentId::from_slug("sales");
        assert_eq!(sales, AgentId::from_slug("sales"), "stable");
        assert_ne!(sales, AgentId::from_slug("support"));
        assert_eq!(AgentId::uuid(sales.as_str()), Some(sales.clone()), "a UUID");
        // Pinned: changing the namespace would orphan every derived id.
        assert_eq!(sales.as_str(), "c8428e70-550b-5f3d-aa97-689cda39d508");
    }

    #[test]
    fn uuid_ids_round_trip_and_reject_garbage() {
        let id = SessionId::random();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::parse(" not-a-uuid "), None);
        assert_eq!(
            SessionId::parse("00000000-0000-0000-0000-000000000000")
                .unwrap()
                .to_string(),
            "00000000-0000-0000-0000-000000000000"
        );
    }
}
