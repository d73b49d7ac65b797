//! A domain of the forest: its names, SID, head and well-known containers.

use super::{EntryId, Sid};

/// One domain of the forest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Domain {
    /// `corp.example.test`
    pub dns_name: String,
    /// `CORP`, for `CORP\alice` binds.
    pub netbios: String,
    /// `S-1-5-21-a-b-c`; principals get RIDs under it.
    pub sid: Sid,
    /// The domain head (`DC=corp,DC=example,DC=test`).
    pub head: EntryId,
    /// UPN suffixes besides the DNS name.
    pub upn_suffixes: Vec<String>,
    /// Host names of this domain's DCs.
    pub dc_hosts: Vec<String>,
    /// `CN=Users`, the default home of users and groups.
    pub users: EntryId,
    /// `CN=Deleted Objects`, where tombstones go.
    pub deleted_objects: EntryId,
    /// `CN=ForeignSecurityPrincipals`.
    pub foreign_principals: EntryId,
    /// The next RID to hand out.
    pub next_rid: u32,
}
