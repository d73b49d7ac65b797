//! Sign-in pass-through (directory connector method): a user signs in with their primary
//! address and directory password; the stack finds the user's entry as the service
//! account and binds as it.
//!
//! Decisions where SPEC is silent:
//! - Only the primary address signs in (SPEC: "with their primary address"); an alias
//!   is an unknown address. The search finds candidates by `mail` or any
//!   `proxyAddresses` value, then keeps those whose primary (by the transform's rule)
//!   is the address.
//! - An address two users claim as primary is refused (`Failed`): binding as either
//!   would sign the person in as someone who may not be them.
//! - An empty password is a wrong password, refused before the wire: AD would bind it
//!   anonymously and the sign-in would "succeed".
//! - The user's bind goes to the host the service account reached (failover included),
//!   on a fresh connection, so the service account's session is never rebound.
//! - AD sub-codes without a variant of their own (account expired 701, logon hours
//!   530, workstation 531, no such user 525) come back as `Failed` with the clear
//!   message of [`BindFailure`], so nothing is silently mapped onto a wrong outcome.

use ldap3::{ldap_escape, Scope};

use crate::address::Address;
use crate::connect::{self, BindFailure, ConnectError, ConnectOptions};
use crate::extract::RawEntry;
use crate::report::SyncMethod;
use crate::stack::SyncEnvironment;
use crate::transform;

/// How a sign-in ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The directory accepted the password.
    SignedIn {
        /// The user's entry.
        dn: String,
    },
    /// The password is wrong (AD `data 52e`), or empty.
    WrongPassword,
    /// No user has this primary address (or the service account cannot see it).
    UnknownAddress,
    /// The account is disabled (`data 533`).
    Disabled,
    /// The account is locked out (`data 775`).
    LockedOut,
    /// The password has expired (`data 532`).
    PasswordExpired,
    /// The password must be changed first (`data 773`).
    MustChangePassword,
    /// Anything else: settings, connection, an ambiguous address, other sub-codes.
    Failed {
        /// Why, naming the host or field.
        reason: String,
    },
}

fn failed(reason: impl std::fmt::Display) -> SignInOutcome {
    SignInOutcome::Failed {
        reason: reason.to_string(),
    }
}

/// See the module docs.
pub async fn sign_in(
    env: &SyncEnvironment,
    connector: &crate::settings::ConnectorSettings,
    address: &str,
    password: &str,
) -> SignInOutcome {
    if env.method == SyncMethod::Agent {
        return failed(
            "sign-in pass-through is offered by the directory connector method only; \
             the agent never carries passwords",
        );
    }
    if let Err(errors) = connector.validate() {
        return failed(format!("settings refused: {errors}"));
    }
    let Ok(wanted) = Address::parse(address) else {
        return SignInOutcome::UnknownAddress;
    };
    if password.is_empty() {
        return SignInOutcome::WrongPassword;
    }
    let options = match ConnectOptions::new(env.resolver.clone(), &env.trusted_ca_pems, env.timeout)
    {
        Ok(options) => options,
        Err(error) => return failed(error),
    };
    let mut service = match connect::connect(&options, connector).await {
        Ok(connection) => connection,
        Err(failure) => return failed(chain(&failure.error)),
    };
    let host = service.host.clone();
    let escaped = ldap_escape(wanted.original());
    let filter = format!(
        "(&(objectCategory=person)(objectClass=user)(|(mail={escaped})(proxyAddresses=smtp:{escaped})))"
    );
    let search = service
        .ldap
        .with_timeout(env.timeout)
        .streaming_search(
            &connector.root_dn,
            Scope::Subtree,
            &filter,
            vec!["mail", "proxyAddresses"],
        )
        .await;
    let mut stream = match search {
        Ok(stream) => stream,
        Err(error) => return failed(ConnectError::from_ldap(&host, service.port, error)),
    };
    let mut candidates = Vec::new();
    loop {
        match stream.next().await {
            Ok(Some(entry)) if entry.is_ref() => {}
            Ok(Some(entry)) => match RawEntry::parse(entry.0) {
                Ok(entry) => candidates.push(entry),
                Err(reason) => return failed(format!("{host}: malformed answer: {reason}")),
            },
            Ok(None) => break,
            Err(error) => return failed(ConnectError::from_ldap(&host, service.port, error)),
        }
    }
    let result = stream.finish().await;
    let _ = service.ldap.unbind().await;
    if result.rc != 0 {
        return failed(format!(
            "{host}: search for '{address}' failed with result {}: {}",
            result.rc,
            result.text.trim_end_matches(['\0', '\n'])
        ));
    }
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|entry| primary_of(entry).is_some_and(|primary| primary == wanted))
        .map(|entry| entry.dn)
        .collect();
    let dn = match matching.as_slice() {
        [] => return SignInOutcome::UnknownAddress,
        [dn] => dn.clone(),
        several => {
            return failed(format!(
                "{host}: '{address}' is the primary address of {} directory users ({}); \
                 fix the duplicate before anyone can sign in with it",
                several.len(),
                several.join("; ")
            ))
        }
    };

    let (mut ldap, _) =
        match connect::open(&options, &host, service.port, connector.encryption).await {
            Ok(pair) => pair,
            Err(error) => return failed(chain(&error)),
        };
    let bound = connect::bind(&mut ldap, &host, service.port, &dn, password, env.timeout).await;
    let _ = ldap.unbind().await;
    match bound {
        Ok(()) => SignInOutcome::SignedIn { dn },
        Err(ConnectError::Bind { failure, .. }) => match failure {
            BindFailure::BadCredentials => SignInOutcome::WrongPassword,
            BindFailure::AccountDisabled => SignInOutcome::Disabled,
            BindFailure::LockedOut => SignInOutcome::LockedOut,
            BindFailure::PasswordExpired => SignInOutcome::PasswordExpired,
            BindFailure::MustChangePassword => SignInOutcome::MustChangePassword,
            other => failed(format!("{host}: sign-in as '{dn}' failed: {other}")),
        },
        Err(error) => failed(chain(&error)),
    }
}

fn primary_of(entry: &RawEntry) -> Option<Address> {
    let mut mail = None;
    let mut proxies = Vec::new();
    for (name, values) in &entry.attrs {
        let texts = values
            .iter()
            .map(|value| String::from_utf8_lossy(value).into_owned());
        if name.eq_ignore_ascii_case("mail") {
            mail = texts.into_iter().next();
        } else if name.eq_ignore_ascii_case("proxyAddresses") {
            proxies.extend(texts);
        }
    }
    transform::addresses(mail.as_deref(), &proxies).map(|(primary, _)| primary)
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
