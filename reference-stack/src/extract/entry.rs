//! Search result entries read without trusting the peer, and turned into objects.

use super::*;

/// A search result entry: DN and attributes with raw values, read without panicking on
/// whatever a peer sends (ldap3's `SearchEntry::construct` panics on malformed BER).
#[derive(Debug, Clone, Default)]
pub struct RawEntry {
    /// The entry's DN.
    pub dn: String,
    /// Attribute descriptions (options such as `;range=0-1499` included) and values.
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl RawEntry {
    /// Reads a SearchResultEntry (`[APPLICATION 4] SEQUENCE { objectName, attributes }`).
    pub fn parse(tag: StructureTag) -> Result<Self, String> {
        let mut parts = tag
            .match_id(4)
            .and_then(StructureTag::expect_constructed)
            .ok_or("not a search result entry")?
            .into_iter();
        let dn = parts
            .next()
            .and_then(StructureTag::expect_primitive)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("entry without a UTF-8 DN")?;
        let list = parts
            .next()
            .and_then(StructureTag::expect_constructed)
            .ok_or_else(|| format!("'{dn}': no attribute list"))?;
        let mut attrs = Vec::with_capacity(list.len());
        for attribute in list {
            let mut pair = attribute
                .expect_constructed()
                .ok_or_else(|| format!("'{dn}': malformed attribute"))?
                .into_iter();
            let name = pair
                .next()
                .and_then(StructureTag::expect_primitive)
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| format!("'{dn}': attribute without a name"))?;
            let values = match pair.next().map(|set| set.payload) {
                Some(PL::C(values)) => values
                    .into_iter()
                    .map(|value| match value.payload {
                        PL::P(bytes) if bytes.len() > MAX_VALUE_BYTES => Err(format!(
                            "'{dn}': {name}: a value of {} bytes, over the {} MiB any \
                             directory attribute holds",
                            bytes.len(),
                            MAX_VALUE_BYTES >> 20
                        )),
                        PL::P(bytes) => Ok(bytes),
                        PL::C(_) => Err(format!("'{dn}': {name}: constructed value")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(format!("'{dn}': {name}: no value set")),
            };
            attrs.push((name, values));
        }
        Ok(Self { dn, attrs })
    }
}

fn text(values: &[Vec<u8>]) -> Option<String> {
    values
        .first()
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

pub(super) fn texts(values: Vec<Vec<u8>>) -> Vec<String> {
    values
        .into_iter()
        .map(|value| {
            String::from_utf8(value)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
        .collect()
}

fn number(values: &[Vec<u8>]) -> Option<u32> {
    // AD writes flags as signed 32-bit decimals (the sign bit of userAccountControl shows
    // as a negative number), so read as i64 and keep the low 32 bits.
    let text = std::str::from_utf8(values.first()?).ok()?;
    text.trim().parse::<i64>().ok().map(|n| n as u32)
}

/// `member;range=1500-2999` → (1500, Some(2999)); `member;range=1500-*` → (1500, None).
pub(super) fn parse_range(options: &str) -> Option<(usize, Option<usize>)> {
    let spec = options.split(';').find_map(|option| {
        option
            .strip_prefix("range=")
            .or_else(|| option.strip_prefix("Range="))
    })?;
    let (low, high) = spec.split_once('-')?;
    let low = low.trim().parse().ok()?;
    let high = match high.trim() {
        "*" => None,
        high => Some(high.parse().ok()?),
    };
    Some((low, high))
}

impl Object {
    /// Reads an entry into an object; the error says why an entry cannot be used.
    pub fn from_entry(entry: RawEntry, additional: &[String]) -> Result<Self, String> {
        let RawEntry { dn, attrs } = entry;
        let mut object = Object {
            dn,
            guid: Guid([0; 16]),
            kind: ObjectKind::Other,
            cn: None,
            display_name: None,
            mail: None,
            proxy_addresses: Vec::new(),
            user_account_control: 0,
            members: Vec::new(),
            member_range_next: None,
            primary_group_id: None,
            group_rid: None,
            domain_sid: None,
            dl_filter: None,
            dl_base: None,
            attributes: BTreeMap::new(),
            looked_up: false,
        };
        let mut guid = None;
        let mut classes = Vec::new();
        let mut token = None;
        for (description, values) in attrs {
            let (name, options) = description
                .split_once(';')
                .unwrap_or((description.as_str(), ""));
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "objectguid" => {
                    guid = values
                        .first()
                        .and_then(|value| <[u8; 16]>::try_from(value.as_slice()).ok())
                        .map(Guid);
                }
                "objectclass" => classes = texts(values),
                "cn" => object.cn = text(&values),
                "displayname" => object.display_name = text(&values),
                "mail" => object.mail = text(&values),
                "proxyaddresses" => object.proxy_addresses = texts(values),
                "useraccountcontrol" => {
                    object.user_account_control = number(&values).unwrap_or(0);
                }
                "member" => {
                    if let Some((low, high)) = parse_range(options) {
                        if low != 0 {
                            return Err(format!(
                                "'{}': member range starts at {low}, not 0",
                                object.dn
                            ));
                        }
                        object.member_range_next = high.map(|high| high + 1);
                    }
                    object.members.extend(texts(values));
                }
                "primarygroupid" => object.primary_group_id = number(&values),
                "primarygrouptoken" => token = number(&values),
                "objectsid" => {
                    if let Some(sid) = values.first() {
                        // Revision, count, 6-byte authority, then 4-byte sub-authorities;
                        // the last one is the RID, the rest names the domain.
                        if sid.len() >= 12 && (sid.len() - 8) % 4 == 0 {
                            let split = sid.len() - 4;
                            object.domain_sid = Some(sid[2..split].to_vec());
                            let rid: [u8; 4] =
                                [sid[split], sid[split + 1], sid[split + 2], sid[split + 3]];
                            object.group_rid = Some(u32::from_le_bytes(rid));
                        }
                    }
                }
                "msexchdynamicdlfilter" => object.dl_filter = text(&values),
                "msexchdynamicdlbasedn" => object.dl_base = text(&values),
                _ => {
                    if let Some(configured) = additional
                        .iter()
                        .find(|configured| configured.eq_ignore_ascii_case(name))
                    {
                        let mut values = texts(values);
                        values.sort();
                        object.attributes.insert(configured.clone(), values);
                    }
                }
            }
        }
        object.guid = guid.ok_or_else(|| format!("'{}' has no readable objectGUID", object.dn))?;
        let has = |class: &str| classes.iter().any(|c| c.eq_ignore_ascii_case(class));
        object.kind = if has("msExchDynamicDistributionList") {
            ObjectKind::DynamicList
        } else if has("group") {
            ObjectKind::Group
        } else if has("computer") {
            ObjectKind::Other
        } else if has("user") {
            ObjectKind::User
        } else if has("contact") {
            ObjectKind::Contact
        } else {
            ObjectKind::Other
        };
        if object.kind == ObjectKind::Group {
            object.group_rid = token.or(object.group_rid);
        } else {
            object.group_rid = None;
        }
        Ok(object)
    }
}
