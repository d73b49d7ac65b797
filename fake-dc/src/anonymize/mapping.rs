//! The mapping file: every original next to its pseudonym. It stays with the customer
//! (it holds the very names the anonymized fixture hides); with it, a finding written
//! against the anonymized fixture reads back in the customer's names.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::pseudo::{with_case_of, Pseudonyms};
use crate::dn::fold_case;

/// The format tag of a mapping file.
pub const MAPPING_FORMAT: &str = "fake-dc-anonymize-mapping/1";

/// Originals and their pseudonyms, in lower case (names are keyed case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub format: String,
    /// Word (a run of letters and digits) → pseudonym.
    pub words: BTreeMap<String, String>,
    /// Registered domain (`example.com`) → pseudonym (`qwertyu.test`); the labels below
    /// a registered domain are words.
    pub domains: BTreeMap<String, String>,
    /// Domain SID without its `S-1-5-` (`21-a-b-c`) → pseudonym; RIDs are kept.
    pub sids: BTreeMap<String, String>,
    /// Azure AD tenant and app registration IDs → pseudonymous GUIDs (objectGUIDs are
    /// kept, so they are not here). Absent from mappings written before tenants were.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub guids: BTreeMap<String, String>,
}

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{file}: not a mapping file: {message}")]
    Invalid { file: String, message: String },
    #[error("{file}: format '{found}' is not {MAPPING_FORMAT}")]
    Format { file: String, found: String },
}

impl Mapping {
    pub(super) fn from_pseudonyms(p: &Pseudonyms) -> Self {
        Mapping {
            format: MAPPING_FORMAT.into(),
            words: p.words.clone(),
            domains: p.domains.clone(),
            sids: p.sids.clone(),
            guids: p.guids.clone(),
        }
    }

    /// The mapping as pretty JSON.
    pub fn to_json(&self) -> String {
        // Maps of strings always serialize.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a mapping file's text; `file` names it in errors (with line and column).
    pub fn from_json(text: &str, file: &str) -> Result<Self, MappingError> {
        let mapping: Mapping = serde_json::from_str(text).map_err(|e| MappingError::Invalid {
            file: format!("{file}:{}:{}", e.line(), e.column()),
            message: e.to_string(),
        })?;
        if mapping.format != MAPPING_FORMAT {
            return Err(MappingError::Format {
                file: file.into(),
                found: mapping.format,
            });
        }
        Ok(mapping)
    }

    /// Translates text written against the anonymized fixture (a finding, a log, a
    /// scenario) back into the customer's names: pseudonymous SIDs, registered domains
    /// and words are replaced by their originals, keeping each word's case pattern.
    /// Words of digits only are left alone, since a count or a time in the text would
    /// read as a phone number's digits more often than not.
    pub fn reverse(&self, text: &str) -> String {
        let words: HashMap<&str, &str> = self
            .words
            .iter()
            .map(|(o, p)| (p.as_str(), o.as_str()))
            .collect();
        let domains: HashMap<&str, &str> = self
            .domains
            .iter()
            .map(|(o, p)| (p.as_str(), o.as_str()))
            .collect();
        let text = self.reverse_sids(text);
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            // A DN's hex escape (`\3D`) is no word: `\3DAdmin` holds the word `Admin`.
            if chars[i] == '\\'
                && chars.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
                && chars[i + 1].is_ascii_hexdigit()
            {
                out.extend(&chars[i..i + 3]);
                i += 3;
                continue;
            }
            if !chars[i].is_alphanumeric() {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A registered domain's pseudonym, as a DNS name (`label.test`) or in a DN
            // (`DC=label,DC=test`).
            let candidate = format!("{}.test", word.to_ascii_lowercase());
            if let Some(original) = domains.get(candidate.as_str()) {
                let mut matched = false;
                for (tail, separator) in [(".test", "."), (",DC=test", ",DC=")] {
                    let n = tail.chars().count();
                    let text: String = chars[i..chars.len().min(i + n)].iter().collect();
                    let after = chars.get(i + n);
                    if text.eq_ignore_ascii_case(tail)
                        && !after.is_some_and(|c| c.is_alphanumeric())
                    {
                        out.push_str(&original.replace('.', separator));
                        i += n;
                        matched = true;
                        break;
                    }
                }
                if matched {
                    continue;
                }
            }
            let folded = fold_case(&word);
            match words.get(folded.as_str()) {
                Some(original) if word.chars().any(char::is_alphabetic) => {
                    out.push_str(&with_case_of(&word, original));
                }
                _ => out.push_str(&word),
            }
        }
        out
    }

    fn reverse_sids(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (original, pseudonym) in &self.guids {
            out = out.replace(pseudonym, original);
        }
        for (original, pseudonym) in &self.sids {
            out = out.replace(&format!("S-1-5-{pseudonym}"), &format!("S-1-5-{original}"));
        }
        out
    }
}
