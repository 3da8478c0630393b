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
    /// An agent, as named by the client and the agent configuration (any non-blank text).
    AgentId
);
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
