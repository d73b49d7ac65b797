//! A case as a scenario file: the inline fixture, the seeded account, settings and steps,
//! in the format of `scenarios/README.md`, so a shrunk failure can be committed as is.

use serde_yaml::{Mapping, Value};

use super::case::{
    escape, group_dn, guid, kind, Case, Emit, Fault, Member, Plan, Seeded, UserState, BASE, DOMAIN,
    HOST, LIST_NAME, OUS,
};

/// The service account's password.
const SERVICE_PASSWORD: &str = "Sync-Secret-1";

/// A YAML mapping from pairs, keeping their order.
pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::from(k), v);
    }
    Value::Mapping(m)
}

fn strings<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Sequence(items.into_iter().map(|s| Value::String(s.into())).collect())
}

/// The scenario of `case`, whose steps are `plan`'s; `expects` are inserted after the
/// emitted step they name, and steps after `until` (an emitted step index) are left out.
pub fn scenario(
    case: &Case,
    plan: &Plan,
    description: &str,
    property: Option<&str>,
    expects: &[(usize, Value)],
    until: Option<usize>,
) -> Value {
    let mut steps = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        if until.is_some_and(|u| i > u) {
            break;
        }
        steps.push(emit(step));
        steps.extend(
            expects
                .iter()
                .filter(|(at, _)| *at == i)
                .map(|(_, e)| map([("expect", e.clone())])),
        );
    }
    let mut doc = map([
        ("description", Value::from(description)),
        ("directory", map([("inline", fixture(case))])),
        ("connector", connector(case)),
        ("settings", settings(case)),
        ("account", account(case)),
        ("steps", Value::Sequence(steps)),
    ]);
    if let (Some(p), Value::Mapping(m)) = (property, &mut doc) {
        m.insert("property".into(), p.into());
    }
    doc
}

fn connector(case: &Case) -> Value {
    let mut c = map([
        ("primary-host", Value::from(HOST)),
        ("encryption", Value::from("none")),
        ("port", Value::from(389)),
        (
            "bind-dn",
            Value::from(format!("CN=Sync Service,OU=Service Accounts,{BASE}")),
        ),
        ("password", Value::from(SERVICE_PASSWORD)),
        ("root-dn", Value::from(BASE)),
    ]);
    if let (true, Value::Mapping(m)) = (case.settings.dirsync, &mut c) {
        m.insert("change-tracking".into(), "dirsync".into());
    }
    c
}

fn settings(case: &Case) -> Value {
    let s = case.settings;
    map([
        ("region", Value::from("europe")),
        ("domains", strings([DOMAIN])),
        ("delete-users", Value::from(s.delete_users)),
        ("link-aliases", Value::from(s.link_aliases)),
        ("acknowledge-disabled", Value::from(s.acknowledge_disabled)),
        ("max-unlink", Value::from(s.max_unlink)),
    ])
}

/// The seeded account: manual users, manual users at a directory user's address, and
/// stale directory-generated users (each address once).
fn account(case: &Case) -> Value {
    let mut seen = std::collections::BTreeSet::new();
    let mut users = Vec::new();
    for (n, seeded) in case.seeded.iter().enumerate() {
        let (address, origin) = match *seeded {
            Seeded::Manual => (format!("m{n}@{DOMAIN}"), None),
            Seeded::ManualAt(i) if !case.users.is_empty() => {
                (case.user_address(i % case.users.len()), None)
            }
            Seeded::ManualAt(_) => continue,
            Seeded::Stale => (format!("s{n}@{DOMAIN}"), Some(guid(kind::STALE, n))),
        };
        if !seen.insert(address.clone()) {
            continue;
        }
        users.push(match origin {
            None => map([("address", Value::from(address))]),
            Some(g) => map([
                ("address", Value::from(address)),
                ("origin", map([("directory-generated", Value::from(g))])),
            ]),
        });
    }
    map([("users", Value::Sequence(users))])
}

fn fixture(case: &Case) -> Value {
    let mut ous = vec![map([
        ("name", Value::from("Service Accounts")),
        (
            "users",
            Value::Sequence(vec![map([
                ("cn", Value::from("Sync Service")),
                ("password", Value::from(SERVICE_PASSWORD)),
            ])]),
        ),
    ])];
    for (o, ou) in OUS.iter().enumerate() {
        let users: Vec<Value> = (0..case.users.len())
            .filter(|&i| usize::from(case.users[i].ou) % OUS.len() == o)
            .map(|i| user(case, i))
            .collect();
        ous.push(map([
            ("name", Value::from(*ou)),
            ("users", Value::Sequence(users)),
        ]));
    }
    let groups = (0..case.groups.len()).map(|g| group(case, g)).collect();
    let contacts = (0..case.contacts)
        .map(|c| {
            let (cn, mail) = Case::contact(c);
            map([
                ("cn", Value::from(cn)),
                ("mail", Value::from(mail)),
                ("objectGUID", Value::from(guid(kind::CONTACT, c))),
            ])
        })
        .collect();
    let lists = if case.dynamic_list {
        vec![map([
            ("cn", Value::from(LIST_NAME)),
            ("mail", Value::from(format!("sales-all@{DOMAIN}"))),
            (
                "filter",
                Value::from("(&(objectClass=user)(department=Sales))"),
            ),
            ("objectGUID", Value::from(guid(kind::LIST, 0))),
        ])]
    } else {
        Vec::new()
    };
    ous.push(map([
        ("name", Value::from("Groups")),
        ("groups", Value::Sequence(groups)),
        ("contacts", Value::Sequence(contacts)),
        ("dynamicLists", Value::Sequence(lists)),
    ]));
    map([
        ("seed", Value::from(1)),
        ("defaultPassword", Value::from("Passw0rd!")),
        (
            "queryPolicy",
            map([("MaxValRange", Value::from(case.range_size))]),
        ),
        ("entryOrder", Value::from(case.entry_order.name())),
        ("domains", Value::Sequence(vec![domain(case, ous)])),
    ])
}

fn domain(case: &Case, ous: Vec<Value>) -> Value {
    let mut d = map([
        ("dns", Value::from(DOMAIN)),
        ("dcs", strings([HOST])),
        ("ous", Value::Sequence(ous)),
    ]);
    if let (true, Value::Mapping(m)) = (case.bulk > 0, &mut d) {
        let bulk = map([
            ("seed", Value::from(1)),
            ("ou", Value::from("Bulk")),
            ("users", Value::from(case.bulk)),
            ("largeGroups", Value::Sequence(vec![Value::from(case.bulk)])),
        ]);
        m.insert("generate".into(), Value::Sequence(vec![bulk]));
    }
    d
}

fn user(case: &Case, i: usize) -> Value {
    let u = &case.users[i];
    let address = case.user_address(i);
    let mut proxies = vec![format!("SMTP:{address}")];
    proxies.extend((0..u.aliases).map(|k| format!("smtp:u{i}.a{k}@{DOMAIN}")));
    let state = match u.state {
        UserState::Enabled => "enabled",
        UserState::Disabled => "disabled",
        UserState::LockedOut => "locked-out",
    };
    let department = if u.sales { "Sales" } else { "Engineering" };
    map([
        ("cn", Value::from(case.user_cn(i))),
        ("sAMAccountName", Value::from(format!("u{i}"))),
        ("mail", Value::from(address)),
        ("proxyAddresses", strings(proxies)),
        ("state", Value::from(state)),
        ("objectGUID", Value::from(guid(kind::USER, i))),
        ("attributes", map([("department", Value::from(department))])),
    ])
}

fn group(case: &Case, g: usize) -> Value {
    let members = super::case::normalized_members(case, g, &case.groups[g].members)
        .into_iter()
        .map(|m| match m {
            Member::User(i) => format!(
                "CN={},OU={},{BASE}",
                escape(&case.user_cn(i)),
                OUS[usize::from(case.users[i].ou) % OUS.len()]
            ),
            Member::Group(j) => group_dn(j),
            Member::Contact(c) => format!("CN={},OU=Groups,{BASE}", Case::contact(c).0),
        });
    let mut pairs = vec![
        ("cn", Value::from(Case::group_cn(g))),
        ("members", strings(members)),
        ("objectGUID", Value::from(guid(kind::GROUP, g))),
    ];
    if case.groups[g].mail {
        pairs.push(("mail", Value::from(format!("g{g}@{DOMAIN}"))));
    }
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(Value::from(k), v);
    }
    Value::Mapping(m)
}

fn emit(step: &Emit) -> Value {
    match step {
        Emit::Sync => Value::from("sync"),
        Emit::DeltaSync => Value::from("delta-sync"),
        Emit::Rename { dn, cn } => map([(
            "rename",
            map([
                ("dn", Value::from(dn.as_str())),
                ("cn", Value::from(cn.as_str())),
            ]),
        )]),
        Emit::Move { dn, to } => map([(
            "move",
            map([
                ("dn", Value::from(dn.as_str())),
                ("to", Value::from(to.as_str())),
            ]),
        )]),
        Emit::Delete(dn) => map([("delete", Value::from(dn.as_str()))]),
        Emit::AddMember { group, member } => map([(
            "add-member",
            map([
                ("group", Value::from(group.as_str())),
                ("member", Value::from(member.as_str())),
            ]),
        )]),
        Emit::RemoveMember { group, member } => map([(
            "remove-member",
            map([
                ("group", Value::from(group.as_str())),
                ("member", Value::from(member.as_str())),
            ]),
        )]),
        Emit::Disable(dn) => map([("disable", Value::from(dn.as_str()))]),
        Emit::Enable(dn) => map([("enable", Value::from(dn.as_str()))]),
        Emit::Fault(fault) => {
            let (key, value) = match *fault {
                Fault::Down => ("down", Value::from(true)),
                Fault::Busy => ("busy", Value::from(true)),
                Fault::DropOnPage(n) => ("drop-on-page", Value::from(n)),
                Fault::DropAfterEntries(n) => ("drop-after-entries", Value::from(n)),
            };
            map([("fault", map([("host", Value::from(HOST)), (key, value)]))])
        }
        Emit::ClearFaults => map([("clear-faults", Value::from(HOST))]),
    }
}
