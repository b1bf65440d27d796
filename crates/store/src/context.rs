//! Who is asking, for whom, and why: carried by every store call.

use crate::clock::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(pub String);

impl TenantId {
    /// The tenant of a single-tenant deployment.
    pub fn default_tenant() -> TenantId {
        TenantId("default".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The authenticated party. Until authentication lands every request is `Anonymous`, which the
/// server only permits when it was started with auth off on loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User { id: String },
    Client { id: String },
    System { name: String },
}

/// What the actor may see. Backends translate it into their own query predicates, so every read
/// path (search, include, history, bundle entries) is filtered in the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessFilter {
    /// No restriction beyond the tenant (system jobs, auth-off development servers).
    Unrestricted,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub tenant: TenantId,
    pub actor: Actor,
    /// HL7 PurposeOfUse code (`TREAT`, `ETREAT`, `HOPERAT`...), when the caller stated one.
    pub purpose_of_use: Option<String>,
    pub access: AccessFilter,
    /// Correlates log lines and audit records.
    pub request_id: String,
    /// The request's time: every version written by one request carries it.
    pub now: Timestamp,
}

impl RequestContext {
    /// A context for work the server does on its own behalf (import, migrations, tests).
    pub fn system(name: &str, now: Timestamp) -> RequestContext {
        RequestContext {
            tenant: TenantId::default_tenant(),
            actor: Actor::System { name: name.to_owned() },
            purpose_of_use: None,
            access: AccessFilter::Unrestricted,
            request_id: name.to_owned(),
            now,
        }
    }
}
