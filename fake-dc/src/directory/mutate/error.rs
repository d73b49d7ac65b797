//! Why the directory refuses a change, as AD says it: an LDAP result code, a diagnostic
//! text in AD's form, and the matched DN.

/// A refused change. `result_code` and `diagnostic` are what AD answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirError {
    #[error("no such object: {dn}")]
    NoSuchObject { dn: String, best_match: String },
    #[error("an object named {dn} already exists")]
    EntryExists { dn: String },
    #[error("sAMAccountName '{name}' is already in use in this domain")]
    SamAccountNameInUse { name: String },
    #[error("userPrincipalName '{upn}' is already in use in this forest")]
    UpnInUse { upn: String },
    #[error("{dn} has children; delete them first")]
    NotAllowedOnNonLeaf { dn: String },
    #[error("{member} is already a member of {group}")]
    MemberExists { group: String, member: String },
    #[error("{member} is not a member of {group}")]
    NotAMember { group: String, member: String },
    #[error("attribute {attr} is computed by the directory and cannot be written")]
    ReadOnlyAttribute { attr: String },
    #[error("attribute {attr} already has that value")]
    ValueExists { attr: String },
    #[error("attribute {attr} has no such value")]
    NoSuchValue { attr: String },
    #[error("attribute {attr} takes a single value")]
    SingleValued { attr: String },
    #[error("bad value for {attr}: {reason}")]
    InvalidValue { attr: String, reason: String },
    #[error("object class violation: {reason}")]
    ObjectClassViolation { reason: String },
    #[error("the directory will not do this: {reason}")]
    UnwillingToPerform { reason: String },
}

impl DirError {
    /// The LDAP result code (RFC 4511 §4.1.9) AD uses for this refusal.
    pub fn result_code(&self) -> u32 {
        match self {
            DirError::NoSuchObject { .. } => 32,
            DirError::EntryExists { .. }
            | DirError::SamAccountNameInUse { .. }
            | DirError::MemberExists { .. } => 68,
            DirError::UpnInUse { .. } | DirError::SingleValued { .. } => 19,
            DirError::NotAllowedOnNonLeaf { .. } => 66,
            DirError::NotAMember { .. }
            | DirError::ReadOnlyAttribute { .. }
            | DirError::UnwillingToPerform { .. } => 53,
            DirError::ValueExists { .. } => 20,
            DirError::NoSuchValue { .. } => 16,
            DirError::InvalidValue { .. } => 21,
            DirError::ObjectClassViolation { .. } => 65,
        }
    }

    /// The matchedDN AD returns (the closest existing ancestor for noSuchObject).
    pub fn matched_dn(&self) -> &str {
        match self {
            DirError::NoSuchObject { best_match, .. } => best_match,
            _ => "",
        }
    }

    /// AD's diagnosticMessage text.
    pub fn diagnostic(&self) -> String {
        match self {
            DirError::NoSuchObject { best_match, .. } => format!(
                "0000208D: NameErr: DSID-0310028B, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'{best_match}'\n"
            ),
            DirError::EntryExists { .. } => {
                "00002071: UpdErr: DSID-0305038D, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::SamAccountNameInUse { .. } => {
                "00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::UpnInUse { .. } => "000021C8: AtrErr: DSID-03200E96, #1:\n\t0: 000021C8: DSID-03200E96, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)\n".into(),
            DirError::NotAllowedOnNonLeaf { .. } => {
                "00002015: UpdErr: DSID-030C1019, problem 6003 (CANT_ON_NON_LEAF), data 0\n".into()
            }
            DirError::MemberExists { .. } => {
                "00000562: UpdErr: DSID-031A11C4, problem 6005 (ENTRY_EXISTS), data 0\n".into()
            }
            DirError::NotAMember { .. } => {
                "00000561: SvcErr: DSID-031A1021, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::ReadOnlyAttribute { .. } => {
                "00002077: SvcErr: DSID-03152F08, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::UnwillingToPerform { reason } if reason.contains("unicodePwd") => {
                "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::UnwillingToPerform { .. } => {
                "00002077: SvcErr: DSID-03152F08, problem 5003 (WILL_NOT_PERFORM), data 0\n".into()
            }
            DirError::ValueExists { attr } => format!(
                "00002083: AtrErr: DSID-03151818, #1:\n\t0: 00002083: DSID-03151818, problem 1006 (ATT_OR_VALUE_EXISTS), data 0, Att 0 ({attr})\n"
            ),
            DirError::NoSuchValue { attr } | DirError::SingleValued { attr } => format!(
                "00002082: AtrErr: DSID-031519B1, #1:\n\t0: 00002082: DSID-031519B1, problem 1001 (NO_ATTRIBUTE_OR_VAL), data 0, Att 0 ({attr})\n"
            ),
            DirError::InvalidValue { attr, .. } => format!(
                "0000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563 ({attr})"
            ),
            DirError::ObjectClassViolation { .. } => {
                "0000207D: UpdErr: DSID-031522A9, problem 6002 (OBJ_CLASS_VIOLATION), data 0\n".into()
            }
        }
    }
}
