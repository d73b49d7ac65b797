//! How each kind of value is anonymized: names word by word, DNs RDN by RDN with their
//! domain through the domain map, addresses as a local part and a domain, proxy
//! addresses by their prefix, filters assertion by assertion, and attributes by what
//! their values mean.

use crate::directory::Sid;
use crate::dn::{fold_case, Dn};
use crate::filter::Filter;

use super::pseudo::Pseudonyms;

/// Second-level public suffixes under which a registered domain has three labels. A
/// registered domain (`example.co.uk`) maps to one `.test` pseudonym, so its subdomains
/// stay subdomains of it; a longer list (the PSL) would only name more of the same.
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au",
    "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "co.jp", "ne.jp", "or.jp", "ac.jp", "co.za",
    "com.br", "com.cn", "com.mx", "co.in", "co.kr", "com.tw", "com.sg", "com.hk", "co.il",
    "com.tr", "com.ar",
];

/// Names loading gives every forest (and Windows gives every domain): they say nothing
/// about the customer and must keep matching the skeleton fake-dc builds.
const WELL_KNOWN: &[&str] = &[
    "users",
    "computers",
    "builtin",
    "foreignsecurityprincipals",
    "deleted objects",
    "domain controllers",
    "administrator",
    "guest",
    "krbtgt",
    "domain admins",
    "domain users",
    "domain guests",
    "domain computers",
    "configuration",
    "schema",
    "partitions",
    "system",
    "program data",
    "managed service accounts",
    "enterprise admins",
    "schema admins",
    "administrators",
    "guests",
    "account operators",
    "server operators",
    "print operators",
    "backup operators",
    "replicator",
    "domaindnszones",
    "forestdnszones",
    "sites",
    "services",
    "aggregate",
];

/// What an attribute's values are, for anonymizing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AttrKind {
    /// Flags, times, counters, classes: the sync's semantics, nothing personal.
    Keep,
    /// DN-valued: mapped RDN by RDN.
    Dn,
    /// An SMTP address or UPN.
    Address,
    /// `prefix:value` proxy addresses.
    Proxy,
    /// `/o=…/ou=…/cn=…` (legacyExchangeDN).
    Structured,
    /// Everything else, free text included: every word replaced.
    Text,
}

pub(super) fn attr_kind(name: &str) -> AttrKind {
    let lower = name.to_ascii_lowercase();
    let lower = lower.split(';').next().unwrap_or_default();
    match lower {
        "useraccountcontrol"
        | "grouptype"
        | "primarygroupid"
        | "pwdlastset"
        | "accountexpires"
        | "lockouttime"
        | "badpwdcount"
        | "badpasswordtime"
        | "logoncount"
        | "lastlogon"
        | "lastlogontimestamp"
        | "lastlogoff"
        | "admincount"
        | "instancetype"
        | "iscriticalsystemobject"
        | "isdeleted"
        | "systemflags"
        | "samaccounttype"
        | "objectclass"
        | "whencreated"
        | "whenchanged"
        | "usncreated"
        | "usnchanged"
        | "countrycode"
        | "codepage"
        | "msexchrecipienttypedetails"
        | "msexchrecipientdisplaytype"
        | "msexchremoterecipienttype"
        | "msexchhidefromaddresslists"
        | "msexchversion"
        | "msds-supportedencryptiontypes"
        | "msds-useraccountcontrol-computed"
        | "objectguid"
        | "ms-ds-consistencyguid"
        | "showinadvancedviewonly"
        | "msexchdynamicdlfilter" => AttrKind::Keep,
        "manager"
        | "secretary"
        | "directreports"
        | "member"
        | "memberof"
        | "managedby"
        | "managedobjects"
        | "seealso"
        | "owner"
        | "assistant"
        | "altrecipient"
        | "publicdelegates"
        | "msexchdynamicdlbasedn"
        | "distinguishedname"
        | "objectcategory"
        | "showinaddressbook"
        | "homemdb"
        | "homemta"
        | "lastknownparent"
        | "defaultobjectcategory"
        | "msds-membertransitive"
        | "authorig"
        | "unauthorig"
        | "dlmemsubmitperms"
        | "dlmemrejectperms" => AttrKind::Dn,
        "mail" | "userprincipalname" | "othermailbox" => AttrKind::Address,
        "proxyaddresses"
        | "targetaddress"
        | "msexchtargetaddress"
        | "msrtcsip-primaryuseraddress" => AttrKind::Proxy,
        "legacyexchangedn" => AttrKind::Structured,
        _ => AttrKind::Text,
    }
}

/// A fixture's domains as the walk sees them: what a DN or a name may point into.
pub(super) struct Forest {
    /// Lower-case DNS name of each domain.
    pub dns: Vec<String>,
    /// Upper-case NetBIOS name of each domain.
    pub netbios: Vec<String>,
    /// The top OU of each `generate:` block, per domain.
    pub generated: Vec<Vec<String>>,
}

/// The anonymizer's state: the pseudonyms and the forest they are drawn for.
pub(super) struct Anon {
    pub p: Pseudonyms,
    pub forest: Forest,
}

impl Anon {
    /// Every word (maximal run of letters and digits) replaced; the rest kept.
    pub fn words(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        for c in text.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                if !word.is_empty() {
                    out.push_str(&self.p.word(&word));
                    word.clear();
                }
                out.push(c);
            }
        }
        if !word.is_empty() {
            out.push_str(&self.p.word(&word));
        }
        out
    }

    /// An object's name (an RDN value, a CN reference): kept when Windows gives it to
    /// every domain, a SID through the SID map, else word by word.
    pub fn name(&mut self, name: &str) -> String {
        // A tombstone's name: the old name, then `\nDEL:` and its GUID, which stays.
        if let Some((old, guid)) = name.split_once("\nDEL:") {
            return format!("{}\nDEL:{guid}", self.name(old));
        }
        if is_well_known(name) {
            return name.to_string();
        }
        if Sid::parse(name).is_some() {
            return self.sid(name);
        }
        self.words(name)
    }

    /// A DNS name: its registered domain to a `.test` pseudonym, the labels below it word
    /// by word, so `emea.corp.example.com` stays a subdomain of `corp.example.com`.
    pub fn dns(&mut self, name: &str) -> String {
        let lower = name.trim_end_matches('.').to_ascii_lowercase();
        if lower.is_empty() {
            return lower;
        }
        let labels: Vec<&str> = lower.split('.').collect();
        let n = labels.len();
        // Microsoft's suffix of every tenant (`contoso.onmicrosoft.com`) names nobody and is
        // what Graph clients expect: it stays, the tenant's own labels map as words.
        if n > 2 && labels[n - 2..] == ["onmicrosoft", "com"] {
            let mut out: Vec<String> = labels[..n - 2].iter().map(|l| self.words(l)).collect();
            out.push("onmicrosoft.com".into());
            return out.join(".");
        }
        let suffix = if n >= 2 && TWO_LABEL_SUFFIXES.contains(&labels[n - 2..].join(".").as_str()) {
            2
        } else {
            1
        };
        // A bare suffix or single label is its own registered domain.
        let cut = n.saturating_sub(suffix + 1);
        let registered = self.p.registered_domain(&labels[cut..].join("."));
        let mut out: Vec<String> = labels[..cut].iter().map(|l| self.words(l)).collect();
        out.push(registered);
        out.join(".")
    }

    /// A SID: a domain SID's identifying sub-authorities through the SID map, the RID and
    /// well-known SIDs (`S-1-5-32-544`) kept.
    pub fn sid(&mut self, text: &str) -> String {
        let Some(sid) = Sid::parse(text.trim()) else {
            return self.words(text);
        };
        if sid.authority != 5 || sid.sub.len() < 4 || sid.sub[0] != 21 {
            return sid.to_string();
        }
        let part = format!("21-{}-{}-{}", sid.sub[1], sid.sub[2], sid.sub[3]);
        let mapped = self.p.sid_domain(&part);
        let mut out = format!("S-1-5-{mapped}");
        for rid in &sid.sub[4..] {
            out.push_str(&format!("-{rid}"));
        }
        out
    }

    /// A DN: the trailing `DC=` RDNs through the domain map, the others by name; inside
    /// a `generate:` block's OU, generated names follow the mapped OU name.
    pub fn dn(&mut self, text: &str) -> String {
        let Ok(dn) = Dn::parse(text) else {
            return self.words(text);
        };
        let mut split = dn.rdns.len();
        while split > 0 && dn.rdns[split - 1].attr().eq_ignore_ascii_case("DC") {
            split -= 1;
        }
        let dns: Vec<&str> = dn.rdns[split..].iter().map(|r| r.value()).collect();
        let dns = dns.join(".");
        let generated_top = (split > 0)
            .then(|| self.generated_top(&dns, dn.rdns[split - 1].value()))
            .flatten();
        let mut rdns = Vec::with_capacity(dn.rdns.len());
        for (i, rdn) in dn.rdns[..split].iter().enumerate() {
            let mut rdn = rdn.clone();
            for ava in &mut rdn.avas {
                ava.value = match &generated_top {
                    Some(ou) if i + 1 < split => self.generated_name(ou, &ava.value),
                    Some(_) => self.words(&ava.value),
                    None => self.name(&ava.value),
                };
            }
            rdns.push(rdn);
        }
        if !dns.is_empty() {
            let mapped = self.dns(&dns);
            let base = Dn::from_dns_name(&mapped);
            rdns.extend(base.rdns);
        }
        Dn { rdns }.to_string()
    }

    /// The `generate:` OU of the domain `dns` named `ou`, if there is one.
    fn generated_top(&self, dns: &str, ou: &str) -> Option<String> {
        let d = self
            .forest
            .dns
            .iter()
            .position(|x| x.eq_ignore_ascii_case(dns))?;
        let folded = fold_case(ou);
        self.forest.generated[d]
            .iter()
            .find(|g| fold_case(g) == folded)
            .cloned()
    }

    /// A name inside a generated block: a generated group carries the OU's name (mapped),
    /// the generator's own names (users, leaf OUs) are not the customer's and stay.
    fn generated_name(&mut self, ou: &str, name: &str) -> String {
        match crate::fixture::generated_group_number(ou, name) {
            Some(n) => crate::fixture::generated_group_name(&self.words(&name[..ou.len()]), n),
            None => name.to_string(),
        }
    }

    /// A reference to an account or group (`members`, `primaryGroup`): a SID, a DN,
    /// `DOMAIN\name`, a UPN, or a CN / sAMAccountName of `domain`.
    pub fn reference(&mut self, domain: usize, text: &str) -> String {
        let r = text.trim();
        if Sid::parse(r).is_some() {
            return self.sid(r);
        }
        if r.contains('=') {
            return self.dn(r);
        }
        if let Some((netbios, name)) = r.split_once('\\') {
            let d = self
                .forest
                .netbios
                .iter()
                .position(|n| n.eq_ignore_ascii_case(netbios));
            let name = match d {
                Some(d) => self.account_name(d, name),
                None => self.name(name),
            };
            return format!("{}\\{name}", self.words(netbios));
        }
        if r.contains('@') {
            return self.address(r);
        }
        self.account_name(domain, r)
    }

    fn account_name(&mut self, domain: usize, name: &str) -> String {
        for ou in self.forest.generated[domain].clone() {
            if let Some(n) = crate::fixture::generated_group_number(&ou, name) {
                return crate::fixture::generated_group_name(&self.words(&name[..ou.len()]), n);
            }
        }
        if !self.forest.generated[domain].is_empty() && crate::fixture::is_generated_user(name) {
            return name.to_string();
        }
        self.name(name)
    }

    /// `local@domain`: the local part word by word, the domain through the domain map.
    pub fn address(&mut self, text: &str) -> String {
        match text.rsplit_once('@') {
            Some((local, domain)) => format!("{}@{}", self.words(local), self.dns(domain)),
            None => self.words(text),
        }
    }

    /// `SMTP:a@b`, `sip:a@b`, `X500:/o=…`: the prefix kept, the rest by its kind.
    pub fn proxy(&mut self, text: &str) -> String {
        let Some((prefix, rest)) = text.split_once(':') else {
            return self.address(text);
        };
        if prefix.is_empty()
            || prefix.len() > 8
            || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return self.address(text);
        }
        let rest = if rest.contains('@') && !rest.contains('=') {
            self.address(rest)
        } else {
            self.structured(rest)
        };
        format!("{prefix}:{rest}")
    }

    /// `/o=Corp/ou=Exchange/cn=alice` or `c=US;p=Corp;s=Archer`: keys kept, values mapped.
    pub fn structured(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut segment = String::new();
        for c in text.chars() {
            if c == '/' || c == ';' {
                self.segment(&segment, &mut out);
                out.push(c);
                segment.clear();
            } else {
                segment.push(c);
            }
        }
        self.segment(&segment, &mut out);
        out
    }

    fn segment(&mut self, segment: &str, out: &mut String) {
        match segment.split_once('=') {
            Some((key, value)) => {
                out.push_str(key);
                out.push('=');
                out.push_str(&self.words(value));
            }
            None => out.push_str(&self.words(segment)),
        }
    }

    /// One attribute value of a known kind.
    pub fn value(&mut self, kind: AttrKind, text: &str) -> String {
        match kind {
            AttrKind::Keep => text.to_string(),
            AttrKind::Dn if !text.contains('=') && !text.contains(' ') => {
                // objectCategory's short form (`person`) is a class name.
                text.to_string()
            }
            AttrKind::Dn => self.dn(text),
            AttrKind::Address => self.address(text),
            AttrKind::Proxy => self.proxy(text),
            AttrKind::Structured => self.structured(text),
            AttrKind::Text if looks_like_dn(text) => self.dn(text),
            AttrKind::Text => self.words(text),
        }
    }

    /// A dynamic list's filter: each assertion value by its attribute's kind, so a list
    /// over `department=Sales` keeps selecting the users whose department was Sales.
    pub fn filter(&mut self, text: &str) -> String {
        let Ok(mut filter) = text.parse::<Filter>() else {
            return self.words(text);
        };
        self.filter_node(&mut filter);
        filter.to_string()
    }

    fn filter_node(&mut self, f: &mut Filter) {
        let value = |me: &mut Self, attr: &str, v: &mut Vec<u8>| {
            let kind = attr_kind(attr);
            let text = String::from_utf8_lossy(v).into_owned();
            *v = me.value(kind, &text).into_bytes();
        };
        match f {
            Filter::And(fs) | Filter::Or(fs) => fs.iter_mut().for_each(|f| self.filter_node(f)),
            Filter::Not(f) => self.filter_node(f),
            Filter::Equality(a, v)
            | Filter::GreaterOrEqual(a, v)
            | Filter::LessOrEqual(a, v)
            | Filter::Approx(a, v) => value(self, &a.clone(), v),
            Filter::Substrings(a, s) => {
                let a = a.clone();
                let kind = match attr_kind(&a) {
                    AttrKind::Keep => AttrKind::Keep,
                    // Pieces of a value are no whole DN or address.
                    _ => AttrKind::Text,
                };
                for piece in s
                    .initial
                    .iter_mut()
                    .chain(s.any.iter_mut())
                    .chain(s.final_.iter_mut())
                {
                    let text = String::from_utf8_lossy(piece).into_owned();
                    *piece = self.value(kind, &text).into_bytes();
                }
            }
            Filter::Present(_) => {}
            Filter::Extensible(e) => {
                let attr = e.attr.clone().unwrap_or_default();
                value(self, &attr, &mut e.value);
            }
        }
    }
}

fn is_well_known(name: &str) -> bool {
    let folded = fold_case(name);
    WELL_KNOWN.contains(&folded.as_str())
        || crate::schema::ALL_KINDS
            .iter()
            .any(|k| k.category().eq_ignore_ascii_case(name))
}

/// A value that parses as a DN ending in a domain: a DN in an attribute not listed.
fn looks_like_dn(text: &str) -> bool {
    Dn::parse(text).is_ok_and(|dn| {
        dn.rdns
            .last()
            .is_some_and(|r| r.attr().eq_ignore_ascii_case("DC"))
    })
}
