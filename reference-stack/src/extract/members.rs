//! Group members: ranged `member` values completed, member DNs resolved to objects
//! (looked up when the extraction lacks them), dynamic lists evaluated.

use super::*;

/// Fetches the rest of a ranged `member` with base searches until a range ends in `*`.
pub(crate) async fn complete_range(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    object: &mut Object,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    object.member_range_next = request.steps.member_range_next(object.member_range_next);
    let mut steps = 0;
    while let Some(next) = object.member_range_next {
        steps += 1;
        let range_error = |reason: String| ExtractError::Range {
            host: request.host.to_owned(),
            group: object.dn.clone(),
            reason,
        };
        if steps > MAX_RANGE_STEPS {
            return Err(range_error(format!("more than {MAX_RANGE_STEPS} steps")));
        }
        let attr = format!("member;range={next}-*");
        let entry = base_entry(ldap, request, &object.dn, &[attr]).await?;
        stats.ranged_fetches += 1;
        let entry = match entry {
            Ok(Some(entry)) => entry,
            Ok(None) => return Err(range_error("the group is no longer readable".into())),
            Err((rc, diagnostic)) => return Err(range_error(format!("result {rc}: {diagnostic}"))),
        };
        let chunk = entry.attrs.into_iter().find_map(|(description, values)| {
            let (name, options) = description.split_once(';')?;
            name.eq_ignore_ascii_case("member")
                .then(|| parse_range(options).map(|range| (range, values)))
                .flatten()
        });
        let Some(((low, high), values)) = chunk else {
            return Err(range_error(format!(
                "asked for {next}-* and got no member range"
            )));
        };
        if low != next || high.is_some_and(|high| high < low) {
            return Err(range_error(format!(
                "asked for {next}-* and got {low}-{}",
                high.map_or("*".into(), |h| h.to_string())
            )));
        }
        object.members.extend(texts(values));
        object.member_range_next = high.map(|high| high + 1);
    }
    Ok(())
}

/// A base search for one entry: `Ok(Ok(Some))` found, `Ok(Ok(None))` no entry, `Ok(Err)`
/// an LDAP error result (the entry cannot be read), `Err` the connection failed.
pub(crate) async fn base_entry(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    dn: &str,
    attrs: &[String],
) -> Result<Result<Option<RawEntry>, (u32, String)>, ExtractError> {
    let mut stream = ldap
        .with_timeout(request.timeout)
        .streaming_search_with(
            EntriesOnly::new(),
            dn,
            Scope::Base,
            "(objectClass=*)",
            attrs,
        )
        .await
        .map_err(|e| connection_error(request, e))?;
    let mut found = None;
    while let Some(entry) = stream
        .next()
        .await
        .map_err(|e| connection_error(request, e))?
    {
        found = Some(
            RawEntry::parse(entry.0).map_err(|reason| ExtractError::Malformed {
                host: request.host.to_owned(),
                reason,
            })?,
        );
    }
    let result = stream.finish().await;
    if result.rc != 0 {
        return Ok(Err((
            result.rc,
            result.text.trim_end_matches(['\0', '\n']).to_owned(),
        )));
    }
    Ok(Ok(found))
}

/// The form DNs are compared in (AD's DNs are case-insensitive).
pub(crate) fn normalize_dn(dn: &str) -> String {
    dn.trim().to_lowercase()
}

/// Splits a DN into RDNs at unescaped commas.
pub(crate) fn rdns(dn: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (index, ch) in dn.char_indices() {
        if escaped {
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else if ch == ',' {
            parts.push(&dn[start..index]);
            start = index + 1;
        }
    }
    parts.push(&dn[start..]);
    parts
}

/// The naming context of the domain a DN lies in: its trailing run of `DC=` RDNs.
pub(crate) fn domain_of(dn: &str) -> String {
    let parts = rdns(dn);
    let first_dc = parts
        .iter()
        .rposition(|rdn| !rdn.trim().to_ascii_lowercase().starts_with("dc="))
        .map_or(0, |last_other| last_other + 1);
    normalize_dn(&parts[first_dc..].join(","))
}

/// Whether a normalized DN is `root` or lies below it.
pub(crate) fn is_under(dn_normalized: &str, root_normalized: &str) -> bool {
    dn_normalized == root_normalized
        || dn_normalized
            .strip_suffix(root_normalized)
            .is_some_and(|head| head.ends_with(','))
}

/// Resolves the `member` values of `groups` to GUIDs, looking up the DNs that are not
/// among the extraction's objects (see the module docs for which looked-up objects are
/// synced). Fills `direct` and `member_identities` of each group resolved, including
/// groups of other domains that the lookups add.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve_members(
    ldap: &mut Ldap,
    mut source: MemberSource<'_>,
    request: &ExtractRequest<'_>,
    attrs: &[String],
    extraction: &mut Extraction,
    groups: Vec<Guid>,
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let root = normalize_dn(request.root_dn);
    let root_domain = domain_of(request.root_dn);
    let key_of = |dn: &str| request.steps.member_key(dn);
    let mut by_dn: HashMap<String, Guid> = extraction
        .objects
        .values()
        .map(|object| (key_of(&object.dn), object.guid))
        .collect();
    // DNs already looked up: what they resolved to (None: unreadable or not synced) and
    // whose objectGUID they carry (None: unreadable).
    let mut looked_up: HashMap<String, (Option<Guid>, Option<Guid>)> = HashMap::new();
    let mut pending = groups;

    while let Some(group_guid) = pending.pop() {
        let Some(group) = extraction.objects.get(&group_guid) else {
            continue;
        };
        let group_dn = group.dn.clone();
        let member_dns = group.members.clone();
        let mut resolved = BTreeSet::new();
        let mut identities = BTreeSet::new();
        for member in member_dns {
            let key = key_of(&member);
            if let Some(guid) = by_dn.get(&key) {
                resolved.insert(*guid);
                identities.insert(*guid);
                continue;
            }
            if let Some((outcome, identity)) = looked_up.get(&key) {
                resolved.extend(*outcome);
                identities.extend(*identity);
                continue;
            }
            let found = match &mut source {
                MemberSource::SameConnection => {
                    stats.lookups += 1;
                    base_entry(ldap, request, &member, attrs).await?
                }
                MemberSource::GlobalCatalog(gc) => {
                    stats.gc_lookups += 1;
                    base_entry(gc.ldap().await?, request, &member, attrs).await?
                }
            };
            let outcome = match found {
                Ok(Some(entry)) => match Object::from_entry(entry, request.additional_attributes) {
                    Ok(mut object) => {
                        let identity = Some(object.guid);
                        let same_domain = domain_of(&object.dn) == root_domain;
                        let mail_enabled = object.addresses().is_some()
                            || matches!(object.kind, ObjectKind::Group | ObjectKind::DynamicList);
                        if same_domain || !matches!(source, MemberSource::GlobalCatalog(_)) {
                            // In the root DN's domain (or no GC): membership facts only.
                            if mail_enabled && !is_under(&normalize_dn(&object.dn), &root) {
                                warnings.insert(format!(
                                    "{}: member '{}' of '{group_dn}' is outside the root DN '{}'; not synced",
                                    request.host, object.dn, request.root_dn
                                ));
                            }
                            (None, identity)
                        } else {
                            object.looked_up = true;
                            if let MemberSource::GlobalCatalog(gc) = &mut source {
                                complete_range(gc.ldap().await?, request, &mut object, stats)
                                    .await?;
                            }
                            let guid = object.guid;
                            by_dn.insert(key_of(&object.dn), guid);
                            if object.kind == ObjectKind::Group {
                                pending.push(guid);
                            }
                            extraction.objects.entry(guid).or_insert(object);
                            (Some(guid), identity)
                        }
                    }
                    Err(reason) => {
                        stats.skipped_members += 1;
                        warnings.insert(format!(
                            "{}: member '{member}' of '{group_dn}' skipped: {reason}",
                            request.host
                        ));
                        (None, None)
                    }
                },
                Ok(None) | Err(_) => {
                    let why = match &found {
                        Err((rc, diagnostic)) => format!("result {rc}: {}", first_line(diagnostic)),
                        _ => "not visible to the service account".into(),
                    };
                    stats.skipped_members += 1;
                    warnings.insert(format!(
                        "{}: member '{member}' of '{group_dn}' cannot be read ({why}); skipped",
                        request.host
                    ));
                    (None, None)
                }
            };
            resolved.extend(outcome.0);
            identities.extend(outcome.1);
            looked_up.insert(key, outcome);
        }
        extraction.direct.insert(group_guid, resolved);
        extraction.member_identities.insert(group_guid, identities);
    }
    Ok(())
}

pub(crate) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end_matches('\0')
}

/// Evaluates each dynamic list's stored filter under its base DN.
///
/// A list whose filter the client cannot parse, or whose base the DC refuses, gets no
/// members and a warning (one broken list must not stop the account's sync); a dropped
/// connection or timeout still fails the whole extraction.
pub(crate) async fn evaluate_dynamic_lists(
    ldap: &mut Ldap,
    request: &ExtractRequest<'_>,
    extraction: &mut Extraction,
    warnings: &mut BTreeSet<String>,
    stats: &mut ExtractStats,
) -> Result<(), ExtractError> {
    let lists: Vec<(Guid, String, Option<String>, Option<String>)> = extraction
        .objects
        .values()
        .filter(|object| object.kind == ObjectKind::DynamicList)
        .map(|object| {
            (
                object.guid,
                object.dn.clone(),
                object.dl_filter.clone(),
                object.dl_base.clone(),
            )
        })
        .collect();
    let guid_only = ["objectGUID".to_owned()];
    for (guid, dn, filter, base) in lists {
        stats.dynamic_lists += 1;
        let Some(filter) = filter else {
            warnings.insert(format!(
                "{}: dynamic list '{dn}' has no msExchDynamicDLFilter; it has no members",
                request.host
            ));
            extraction.direct.insert(guid, BTreeSet::new());
            continue;
        };
        let base = base.unwrap_or_else(|| request.root_dn.to_owned());
        let mut found = Vec::new();
        let mut pages = 0;
        let outcome = paged_search(
            ldap,
            request,
            &base,
            &filter,
            &guid_only,
            &[],
            &mut pages,
            |entry| found.push(entry),
        )
        .await;
        let members = match outcome {
            Ok(()) => found
                .into_iter()
                .filter_map(|entry| {
                    entry.attrs.into_iter().find_map(|(name, values)| {
                        name.eq_ignore_ascii_case("objectGUID")
                            .then(|| {
                                values
                                    .first()
                                    .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
                            })
                            .flatten()
                            .map(Guid)
                    })
                })
                .collect(),
            Err(ExtractError::Search { rc, diagnostic, .. }) => {
                warnings.insert(format!(
                    "{}: dynamic list '{dn}': search under '{base}' failed with result {rc} ({}); it has no members",
                    request.host,
                    first_line(&diagnostic)
                ));
                BTreeSet::new()
            }
            Err(ExtractError::Connection {
                source: ConnectError::Ldap { ref source, .. },
                ..
            }) if matches!(**source, LdapError::FilterParsing) => {
                warnings.insert(format!(
                    "{}: dynamic list '{dn}': filter '{filter}' cannot be parsed; it has no members",
                    request.host
                ));
                BTreeSet::new()
            }
            Err(other) => return Err(other),
        };
        extraction.direct.insert(guid, members);
    }
    Ok(())
}
