//! The slice of the AD schema that fake-dc needs: attribute syntaxes (how values compare),
//! which attributes are constructed or operational, the Global Catalog's partial attribute
//! set, and the object classes with their `objectClass` chains and `objectCategory`.

/// How values of an attribute compare and are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// Unicode string, compared case-insensitively (AD's default for names).
    String,
    /// A 32-bit or 64-bit integer, ordered numerically.
    Integer,
    /// `YYYYMMDDHHMMSS.0Z`, ordered by time.
    GeneralizedTime,
    /// `TRUE` / `FALSE`.
    Boolean,
    /// A DN; equality is DN equality.
    Dn,
    /// Raw bytes compared exactly (objectGUID, objectSid); filters may also use the string
    /// form of a SID.
    Binary,
}

/// What fake-dc knows about one attribute.
#[derive(Debug, Clone, Copy)]
pub struct AttributeDef {
    /// The canonical `lDAPDisplayName`, used when an entry is returned.
    pub name: &'static str,
    pub syntax: Syntax,
    /// Computed on read and only returned when asked for by name (MS-ADTS 3.1.1.4.5).
    pub constructed: bool,
    /// Part of the Global Catalog's partial attribute set.
    pub in_gc: bool,
    /// A single-valued attribute refuses a second value.
    pub single: bool,
}

const fn a(name: &'static str, syntax: Syntax, in_gc: bool, single: bool) -> AttributeDef {
    AttributeDef {
        name,
        syntax,
        constructed: false,
        in_gc,
        single,
    }
}

const fn c(name: &'static str, syntax: Syntax) -> AttributeDef {
    AttributeDef {
        name,
        syntax,
        constructed: true,
        in_gc: false,
        single: false,
    }
}

use Syntax::*;

/// The attributes fake-dc treats specially. Any other attribute is a case-insensitive
/// string that is not in the Global Catalog.
static ATTRIBUTES: &[AttributeDef] = &[
    a("objectClass", String, true, false),
    a("cn", String, true, true),
    a("name", String, true, true),
    a("ou", String, true, false),
    a("dc", String, true, true),
    a("distinguishedName", Dn, true, true),
    a("objectGUID", Binary, true, true),
    a("objectSid", Binary, true, true),
    a("objectCategory", Dn, true, true),
    a("instanceType", Integer, true, true),
    a("whenCreated", GeneralizedTime, true, true),
    a("whenChanged", GeneralizedTime, true, true),
    a("uSNCreated", Integer, true, true),
    a("uSNChanged", Integer, true, true),
    a("sAMAccountName", String, true, true),
    a("sAMAccountType", Integer, true, true),
    a("userPrincipalName", String, true, true),
    a("userAccountControl", Integer, true, true),
    a("primaryGroupID", Integer, true, true),
    a("groupType", Integer, true, true),
    a("member", Dn, true, false),
    a("memberOf", Dn, true, false),
    a("mail", String, true, true),
    a("proxyAddresses", String, true, false),
    a("displayName", String, true, true),
    a("givenName", String, true, true),
    a("sn", String, true, true),
    a("description", String, true, false),
    a("department", String, false, true),
    a("title", String, false, true),
    a("company", String, false, true),
    a("telephoneNumber", String, true, true),
    a("mobile", String, false, true),
    a("manager", Dn, true, true),
    a("pwdLastSet", Integer, false, true),
    a("lockoutTime", Integer, false, true),
    a("accountExpires", Integer, false, true),
    a("badPwdCount", Integer, false, true),
    a("logonCount", Integer, false, true),
    a("isDeleted", Boolean, true, true),
    a("isCriticalSystemObject", Boolean, false, true),
    a("lastKnownParent", Dn, false, true),
    a("msExchDynamicDLFilter", String, false, true),
    a("msExchDynamicDLBaseDN", Dn, false, true),
    a("msDS-PrincipalName", String, false, true),
    a("dNSHostName", String, true, true),
    a("nETBIOSName", String, false, true),
    a("nCName", Dn, false, true),
    a("dnsRoot", String, false, false),
    a("uPNSuffixes", String, false, false),
    a("lDAPDisplayName", String, true, true),
    a("defaultObjectCategory", Dn, false, true),
    a("unicodePwd", Binary, false, true),
    c("canonicalName", String),
    c("createTimeStamp", GeneralizedTime),
    c("modifyTimeStamp", GeneralizedTime),
    c("primaryGroupToken", Integer),
    c("tokenGroups", Binary),
    c("msDS-User-Account-Control-Computed", Integer),
    c("parentGUID", Binary),
    c("structuralObjectClass", String),
    c("allowedAttributes", String),
    c("subSchemaSubEntry", Dn),
];

/// Looks an attribute up by name, case-insensitively.
/// Every attribute name the schema knows, stored or computed.
pub fn attribute_names() -> impl Iterator<Item = &'static str> {
    ATTRIBUTES.iter().map(|d| d.name)
}

pub fn attribute(name: &str) -> Option<&'static AttributeDef> {
    ATTRIBUTES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// The syntax of an attribute; unknown attributes are strings.
pub fn syntax(name: &str) -> Syntax {
    attribute(name).map_or(Syntax::String, |d| d.syntax)
}

/// The canonical spelling of an attribute name (the name as given when unknown).
pub fn canonical(name: &str) -> &str {
    attribute(name).map_or(name, |d| d.name)
}

/// The structural classes fake-dc models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ObjectKind {
    Domain,
    Container,
    OrganizationalUnit,
    User,
    Computer,
    Group,
    Contact,
    DynamicList,
    ForeignSecurityPrincipal,
    Configuration,
    Dmd,
    ClassSchema,
    CrossRef,
}

impl ObjectKind {
    /// The full `objectClass` chain, most general first, as AD returns it.
    pub fn object_classes(self) -> &'static [&'static str] {
        match self {
            ObjectKind::Domain => &["top", "domain", "domainDNS"],
            ObjectKind::Container => &["top", "container"],
            ObjectKind::OrganizationalUnit => &["top", "organizationalUnit"],
            ObjectKind::User => &["top", "person", "organizationalPerson", "user"],
            ObjectKind::Computer => &["top", "person", "organizationalPerson", "user", "computer"],
            ObjectKind::Group => &["top", "group"],
            ObjectKind::Contact => &["top", "person", "organizationalPerson", "contact"],
            ObjectKind::DynamicList => &["top", "msExchDynamicDistributionList"],
            ObjectKind::ForeignSecurityPrincipal => &["top", "foreignSecurityPrincipal"],
            ObjectKind::Configuration => &["top", "configuration"],
            ObjectKind::Dmd => &["top", "dMD"],
            ObjectKind::ClassSchema => &["top", "classSchema"],
            ObjectKind::CrossRef => &["top", "crossRef"],
        }
    }

    /// The most specific class: what `structuralObjectClass` ends with.
    pub fn class_name(self) -> &'static str {
        self.object_classes().last().copied().unwrap_or("top")
    }

    /// The CN of the class's `defaultObjectCategory` under the schema container.
    pub fn category(self) -> &'static str {
        match self {
            ObjectKind::Domain => "Domain-DNS",
            ObjectKind::Container => "Container",
            ObjectKind::OrganizationalUnit => "Organizational-Unit",
            ObjectKind::User | ObjectKind::Contact => "Person",
            ObjectKind::Computer => "Computer",
            ObjectKind::Group => "Group",
            ObjectKind::DynamicList => "ms-Exch-Dynamic-Distribution-List",
            ObjectKind::ForeignSecurityPrincipal => "Foreign-Security-Principal",
            ObjectKind::Configuration => "Configuration",
            ObjectKind::Dmd => "DMD",
            ObjectKind::ClassSchema => "Class-Schema",
            ObjectKind::CrossRef => "Cross-Ref",
        }
    }

    /// The kind whose chain ends in `class` (case-insensitive), for LDAP adds.
    pub fn from_class(class: &str) -> Option<ObjectKind> {
        ALL_KINDS
            .iter()
            .copied()
            .find(|k| k.class_name().eq_ignore_ascii_case(class))
            .or_else(|| {
                class
                    .eq_ignore_ascii_case("domain")
                    .then_some(ObjectKind::Domain)
            })
    }

    /// True for security principals, which carry an objectSid.
    pub fn has_sid(self) -> bool {
        matches!(
            self,
            ObjectKind::User
                | ObjectKind::Computer
                | ObjectKind::Group
                | ObjectKind::ForeignSecurityPrincipal
        )
    }
}

/// Every kind, in a fixed order (used to build the schema container).
pub const ALL_KINDS: &[ObjectKind] = &[
    ObjectKind::Domain,
    ObjectKind::Container,
    ObjectKind::OrganizationalUnit,
    ObjectKind::User,
    ObjectKind::Computer,
    ObjectKind::Group,
    ObjectKind::Contact,
    ObjectKind::DynamicList,
    ObjectKind::ForeignSecurityPrincipal,
    ObjectKind::Configuration,
    ObjectKind::Dmd,
    ObjectKind::ClassSchema,
    ObjectKind::CrossRef,
];

/// The category CN that `(objectCategory=NAME)` means when NAME is a class's
/// `lDAPDisplayName` rather than a DN: AD substitutes the class's default category, so
/// `user` and `contact` both mean `CN=Person`.
pub fn category_of_short_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let cn = match lower.as_str() {
        "person" | "user" | "organizationalperson" | "contact" | "inetorgperson" => "Person",
        "computer" => "Computer",
        "group" => "Group",
        "organizationalunit" => "Organizational-Unit",
        "container" => "Container",
        "domaindns" | "domain" => "Domain-DNS",
        "msexchdynamicdistributionlist" => "ms-Exch-Dynamic-Distribution-List",
        "foreignsecurityprincipal" => "Foreign-Security-Principal",
        "classschema" => "Class-Schema",
        "configuration" => "Configuration",
        "crossref" => "Cross-Ref",
        "dmd" => "DMD",
        _ => return None,
    };
    Some(cn)
}

/// `userAccountControl` flags fake-dc reads or sets.
pub mod uac {
    pub const ACCOUNTDISABLE: u32 = 0x2;
    pub const LOCKOUT: u32 = 0x10;
    pub const PASSWD_NOTREQD: u32 = 0x20;
    pub const NORMAL_ACCOUNT: u32 = 0x200;
    pub const WORKSTATION_TRUST_ACCOUNT: u32 = 0x1000;
    pub const DONT_EXPIRE_PASSWORD: u32 = 0x10000;
    pub const PASSWORD_EXPIRED: u32 = 0x80_0000;
}

/// `groupType` flags (MS-ADTS 2.2.12).
pub mod group_type {
    pub const GLOBAL: i32 = 0x2;
    pub const DOMAIN_LOCAL: i32 = 0x4;
    pub const UNIVERSAL: i32 = 0x8;
    pub const SECURITY: i32 = i32::MIN; // 0x80000000
}

/// `sAMAccountType` values (MS-ADTS 2.2.15).
pub mod sam_account_type {
    pub const GROUP: i64 = 268_435_456;
    pub const NON_SECURITY_GROUP: i64 = 268_435_457;
    pub const ALIAS: i64 = 536_870_912;
    pub const NON_SECURITY_ALIAS: i64 = 536_870_913;
    pub const USER: i64 = 805_306_368;
    pub const MACHINE: i64 = 805_306_369;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive() {
        assert_eq!(canonical("samaccountname"), "sAMAccountName");
        assert_eq!(syntax("USERACCOUNTCONTROL"), Syntax::Integer);
        assert_eq!(syntax("extensionAttribute1"), Syntax::String);
        assert!(attribute("canonicalname").is_some_and(|d| d.constructed));
    }

    #[test]
    fn classes_round_trip() {
        for kind in ALL_KINDS {
            assert_eq!(ObjectKind::from_class(kind.class_name()), Some(*kind));
        }
        assert_eq!(category_of_short_name("user"), Some("Person"));
        assert_eq!(category_of_short_name("Contact"), Some("Person"));
    }
}
