//! The checks a customer's settings must pass.

use super::*;

fn good() -> ConnectorSettings {
    ConnectorSettings {
        primary_host: "dc1.corp.example.test".into(),
        secondary_host: Some("dc2.corp.example.test".into()),
        encryption: EncryptionMode::Strict,
        port: 636,
        bind_dn: BIND_DN_EXAMPLE.into(),
        password: "Passw0rd!".into(),
        root_dn: ROOT_DN_EXAMPLE.into(),
        change_tracking: Default::default(),
    }
}

fn messages(result: Result<(), SettingsErrors>) -> Vec<String> {
    match result {
        Ok(()) => Vec::new(),
        Err(SettingsErrors(errors)) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn good_settings_pass() {
    assert_eq!(good().validate(), Ok(()));
    assert_eq!(
        good().hosts().collect::<Vec<_>>(),
        ["dc1.corp.example.test", "dc2.corp.example.test"]
    );
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let settings = ConnectorSettings {
        primary_host: " ".into(),
        secondary_host: None,
        encryption: EncryptionMode::None,
        port: 0,
        bind_dn: "xyz".into(),
        password: String::new(),
        root_dn: "corp.example.test".into(),
        change_tracking: Default::default(),
    };
    assert_eq!(
        messages(settings.validate()),
        [
            "primary host: must not be empty",
            "port: 0 is not a valid port; use 636 for TLS or 389 for plain LDAP",
            "bind DN: 'xyz' is not a distinguished name; write it like \
             CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test",
            "password: must not be empty (Active Directory would bind an empty password anonymously)",
            "root DN: 'corp.example.test' is not a distinguished name; write it like \
             DC=corp,DC=example,DC=test",
        ]
    );
}

#[test]
fn hosts_must_be_bare_host_names() {
    for (host, hint) in [
        ("ldaps://dc1", "separate settings"),
        ("dc1:636", "port setting"),
        ("dc 1", "no spaces"),
    ] {
        let settings = ConnectorSettings {
            primary_host: host.into(),
            ..good()
        };
        let found = messages(settings.validate());
        assert_eq!(found.len(), 1, "{host}: {found:?}");
        assert!(found[0].starts_with("primary host: "), "{found:?}");
        assert!(found[0].contains(hint), "{found:?}");
    }
    for host in ["::1", "[fe80::1]", "10.0.0.1"] {
        let settings = ConnectorSettings {
            primary_host: host.into(),
            ..good()
        };
        assert_eq!(settings.validate(), Ok(()), "{host}");
    }
}

#[test]
fn secondary_host_must_differ_from_primary() {
    let settings = ConnectorSettings {
        secondary_host: Some("DC1.corp.example.test".into()),
        ..good()
    };
    assert_eq!(
        settings.validate(),
        Err(SettingsErrors(vec![SettingsError::SecondaryIsPrimary(
            "DC1.corp.example.test".into()
        )]))
    );
}

#[test]
fn dn_check_is_light_but_refuses_upns_and_dns_names() {
    assert!(is_distinguished_name(
        "CN=Smith\\, John,OU=Staff,DC=corp,DC=test"
    ));
    assert!(is_distinguished_name("CN=a+UID=b,DC=x"));
    assert!(is_distinguished_name("2.5.4.3=x,dc=corp"));
    assert!(!is_distinguished_name("sync@corp.example.test"));
    assert!(!is_distinguished_name("CORP\\sync"));
    assert!(!is_distinguished_name("CN=,DC=x"));
    assert!(!is_distinguished_name("CN=a,,DC=x"));
    let upn = ConnectorSettings {
        bind_dn: "sync@corp.example.test".into(),
        ..good()
    };
    assert_eq!(
        messages(upn.validate()),
        [
            "bind DN: 'sync@corp.example.test' is not a distinguished name; write it like \
          CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test"
        ]
    );
}

#[test]
fn yaml_without_encryption_is_refused_with_the_other_errors() {
    let yaml = "primary-host: dc1\nport: 0\nbind-dn: xyz\npassword: ''\n";
    let error = serde_yaml::from_str::<ConnectorSettings>(yaml)
        .expect_err("encryption is required")
        .to_string();
    for expected in [
        "encryption: missing; choose strict, relaxed or none; none is allowed but never the default",
        "root DN: missing",
        "port: 0 is not a valid port",
        "bind DN: 'xyz' is not a distinguished name",
        "password: must not be empty",
    ] {
        assert!(error.contains(expected), "{expected:?} not in {error}");
    }
    assert!(!error.contains("'CN=-'"), "placeholders leak: {error}");
}

#[test]
fn yaml_round_trips_and_refuses_unknown_keys() {
    let yaml = serde_yaml::to_string(&good()).expect("serialize");
    assert!(
        yaml.contains("primary-host: dc1.corp.example.test"),
        "{yaml}"
    );
    let back: ConnectorSettings = serde_yaml::from_str(&yaml).expect("deserialize");
    assert_eq!(back, good());
    let typo = format!("{yaml}encrpytion: none\n");
    let error = serde_yaml::from_str::<ConnectorSettings>(&typo).expect_err("unknown key");
    assert!(error.to_string().contains("encrpytion"), "{error}");
}

#[test]
fn debug_hides_the_password() {
    let debug = format!("{:?}", good());
    assert!(!debug.contains("Passw0rd!"), "{debug}");
    assert!(debug.contains("<hidden>"), "{debug}");
}

#[test]
fn account_settings_defaults_and_checks() {
    let settings: AccountSettings =
        serde_yaml::from_str("region: north-america\ndomains: [Corp.Example.Test.]\n")
            .expect("deserialize");
    assert_eq!(settings.max_unlink, DEFAULT_MAX_UNLINK);
    assert!(!settings.link_aliases && !settings.delete_users && !settings.sync_contacts);
    assert!(settings.is_registered("corp.example.test"));
    assert!(!settings.is_registered("eu.corp.example.test"));
    assert_eq!(settings.validate(), Ok(()));

    let bad = AccountSettings {
        domains: vec!["alice@corp.test".into(), String::new()],
        additional_attributes: vec!["department".into(), "phone number".into()],
        ..AccountSettings::new(Region::Europe)
    };
    assert_eq!(
        messages(bad.validate()),
        [
            "domains: 'alice@corp.test' is not a domain name; write the part after '@', e.g. corp.example.test",
            "domains: '' is not a domain name; write the part after '@', e.g. corp.example.test",
            "additional attributes: 'phone number' is not an LDAP attribute name; use names such as department or telephoneNumber",
        ]
    );
    assert!(serde_yaml::from_str::<AccountSettings>("domains: []\n").is_err());
    assert!(
        serde_yaml::from_str::<AccountSettings>("region: europe\ndelete-user: true\n").is_err()
    );
}
