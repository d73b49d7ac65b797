//! Full or delta: whether the stored state can be continued from, and why not.

use super::{DeltaState, ExtractionScope, FullReason, Watermark};
use crate::extract::{is_under, normalize_dn};

/// Decides whether a run that found the DC at `now` may continue from `previous`:
/// `Ok((state, watermark USN))` for a delta run, else why the run must be full. The
/// checks that need the network (can deleted objects be read?) come after this.
///
/// `domain` is the DC's `defaultNamingContext`, `root_dn` the configured root DN.
pub fn decide<'a>(
    previous: Option<&'a DeltaState>,
    now: &Watermark,
    scope: &ExtractionScope,
    domain: &str,
    root_dn: &str,
) -> Result<(&'a DeltaState, u64), FullReason> {
    let Some(state) = previous else {
        return Err(FullReason::NoPreviousState);
    };
    if state.scope != *scope {
        return Err(FullReason::SettingsChanged);
    }
    let before = &state.watermark;
    let same_host = before.host.eq_ignore_ascii_case(&now.host);
    if !same_host || !before.dc.eq_ignore_ascii_case(&now.dc) {
        // Name the hosts; when one name now reaches another DC, name the DCs.
        let (previous, current) = if same_host {
            (before.dc.clone(), now.dc.clone())
        } else {
            (before.host.clone(), now.host.clone())
        };
        return Err(FullReason::DcChanged { previous, current });
    }
    if now.usn < before.usn {
        return Err(FullReason::UsnBelowWatermark {
            watermark: before.usn,
            highest: now.usn,
        });
    }
    if state.has_cross_domain_members() {
        return Err(FullReason::CrossDomainMembers);
    }
    if domain.is_empty() || !is_under(&normalize_dn(root_dn), &normalize_dn(domain)) {
        return Err(FullReason::RootOutsideDomain {
            domain: domain.to_owned(),
        });
    }
    Ok((state, before.usn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Extraction;

    const DOMAIN: &str = "DC=corp,DC=example,DC=test";
    const ROOT: &str = "OU=Staff,DC=corp,DC=example,DC=test";
    const DC1: &str = "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=example,DC=test";

    fn scope() -> ExtractionScope {
        ExtractionScope::new(ROOT, "CN=Sync,DC=corp,DC=example,DC=test", &[], false)
    }

    fn at(host: &str, dc: &str, usn: u64) -> Watermark {
        Watermark {
            host: host.into(),
            dc: dc.into(),
            usn,
        }
    }

    fn state(usn: u64) -> DeltaState {
        DeltaState::capture(at("dc1", DC1, usn), scope(), &Extraction::default())
    }

    #[test]
    fn continues_from_the_same_dc_at_or_above_the_watermark() {
        let previous = state(100);
        for usn in [100, 101, 5_000] {
            let (_, since) = decide(
                Some(&previous),
                &at("DC1", DC1, usn),
                &scope(),
                DOMAIN,
                ROOT,
            )
            .unwrap();
            assert_eq!(since, 100);
        }
    }

    #[test]
    fn without_a_state_the_run_is_full() {
        assert_eq!(
            decide(None, &at("dc1", DC1, 1), &scope(), DOMAIN, ROOT).unwrap_err(),
            FullReason::NoPreviousState
        );
    }

    #[test]
    fn another_host_or_another_dc_behind_the_same_name_is_full() {
        let previous = state(100);
        assert_eq!(
            decide(
                Some(&previous),
                &at("dc2", DC1, 200),
                &scope(),
                DOMAIN,
                ROOT
            )
            .unwrap_err(),
            FullReason::DcChanged {
                previous: "dc1".into(),
                current: "dc2".into()
            }
        );
        let other = DC1.replace("DC1", "DC7");
        assert_eq!(
            decide(
                Some(&previous),
                &at("dc1", &other, 200),
                &scope(),
                DOMAIN,
                ROOT
            )
            .unwrap_err(),
            FullReason::DcChanged {
                previous: DC1.into(),
                current: other
            }
        );
    }

    #[test]
    fn a_usn_below_the_watermark_is_a_restore() {
        let previous = state(100);
        assert_eq!(
            decide(Some(&previous), &at("dc1", DC1, 99), &scope(), DOMAIN, ROOT).unwrap_err(),
            FullReason::UsnBelowWatermark {
                watermark: 100,
                highest: 99
            }
        );
    }

    #[test]
    fn other_settings_or_a_root_outside_the_domain_are_full() {
        let previous = state(100);
        let wider = ExtractionScope::new(DOMAIN, "CN=Sync,DC=corp,DC=example,DC=test", &[], false);
        assert_eq!(
            decide(
                Some(&previous),
                &at("dc1", DC1, 100),
                &wider,
                DOMAIN,
                DOMAIN
            )
            .unwrap_err(),
            FullReason::SettingsChanged
        );
        let attributes = ExtractionScope::new(
            ROOT,
            "CN=Sync,DC=corp,DC=example,DC=test",
            &["department".into()],
            false,
        );
        assert_eq!(
            decide(
                Some(&previous),
                &at("dc1", DC1, 100),
                &attributes,
                DOMAIN,
                ROOT
            )
            .unwrap_err(),
            FullReason::SettingsChanged
        );
        let emea = "DC=emea,DC=corp,DC=example,DC=test";
        assert_eq!(
            decide(Some(&previous), &at("dc1", DC1, 100), &scope(), emea, ROOT).unwrap_err(),
            FullReason::RootOutsideDomain {
                domain: emea.into()
            }
        );
    }

    #[test]
    fn the_scope_ignores_case_and_attribute_order() {
        assert_eq!(
            ExtractionScope::new(
                "ou=staff,dc=corp",
                "CN=Sync",
                &["Department".into(), "mobile".into()],
                false
            ),
            ExtractionScope::new(
                "OU=Staff,DC=corp",
                "cn=sync",
                &["mobile".into(), "department".into()],
                false
            )
        );
    }
}
