//! A streaming RFC 2849 reader for content records: what `ldapsearch -LLL`, Windows'
//! `ldifde -f` and `fake-dc export-ldif` write. One record is held at a time, so a file
//! of any size reads in the memory of its largest entry.
//!
//! Read: `version: 1`, comments (and their folded continuations), folded lines (a line
//! starting with one space continues the previous), `attr: value`, `attr:: base64`,
//! attribute options (`member;range=0-1499`), CRLF line ends and a UTF-8 byte order
//! mark. `changetype: add` is accepted, since `ldifde` writes it on every exported entry
//! and it means the entry as listed. Refused, with the file and line: other change
//! records (modify, delete, modrdn), controls, values by URL (`attr:< file:///…`), and
//! UTF-16 files (`ldifde -u`).
//!
//! No crate on crates.io reads LDIF as a stream with line numbers for errors (the LDAP
//! client crates read BER, not LDIF), so this is a small reader of its own.

use std::io::BufRead;

use base64::Engine as _;

/// Most bytes of one logical (unfolded) line: AD's largest values (photos) are far below;
/// a longer line is a broken file, not data.
const MAX_LINE: usize = 64 << 20;

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub dn: String,
    /// Attribute descriptions as written (options included), values in file order.
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
    /// The line of the record's `dn:`.
    pub line: usize,
}

/// Why a file cannot be read, with its place.
#[derive(Debug, thiserror::Error)]
pub enum LdifError {
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

/// Reads records from `input`; `file` names it in errors.
pub struct Reader<R> {
    input: R,
    file: String,
    /// Lines read so far (the number of the line in `pending`).
    line: usize,
    /// A physical line read ahead (the one after a logical line ends).
    pending: Option<Vec<u8>>,
    started: bool,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R, file: impl Into<String>) -> Self {
        Reader {
            input,
            file: file.into(),
            line: 0,
            pending: None,
            started: false,
            done: false,
        }
    }

    fn invalid(&self, line: usize, message: impl Into<String>) -> LdifError {
        LdifError::Invalid {
            file: self.file.clone(),
            line,
            message: message.into(),
        }
    }

    /// The next physical line without its line end; `None` at the end of the file.
    fn physical(&mut self) -> Result<Option<Vec<u8>>, LdifError> {
        if let Some(l) = self.pending.take() {
            return Ok(Some(l));
        }
        let mut buf = Vec::new();
        let n = self
            .input
            .read_until(b'\n', &mut buf)
            .map_err(|source| LdifError::Io {
                file: self.file.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if !self.started {
            self.started = true;
            if buf.starts_with(&[0xff, 0xfe]) || buf.starts_with(&[0xfe, 0xff]) {
                return Err(self.invalid(
                    1,
                    "the file is UTF-16 (as `ldifde -u` writes it): convert it to UTF-8 first, e.g. `iconv -f UTF-16 -t UTF-8`",
                ));
            }
            if let Some(rest) = buf.strip_prefix(&[0xef, 0xbb, 0xbf]) {
                buf = rest.to_vec();
            }
        }
        Ok(Some(buf))
    }

    /// The next logical line (continuations joined) with its first line number; `None`
    /// at the end of the file. An empty line is returned as such (it ends a record).
    fn logical(&mut self) -> Result<Option<(usize, Vec<u8>)>, LdifError> {
        let Some(mut first) = self.physical()? else {
            return Ok(None);
        };
        let at = self.line;
        if first.is_empty() {
            return Ok(Some((at, first)));
        }
        if first[0] == b' ' {
            return Err(self.invalid(
                at,
                "a continuation line (starting with a space) with no line before it",
            ));
        }
        loop {
            match self.physical()? {
                Some(next) if next.first() == Some(&b' ') => {
                    first.extend_from_slice(&next[1..]);
                    if first.len() > MAX_LINE {
                        return Err(self.invalid(at, "a line longer than 64 MiB"));
                    }
                }
                other => {
                    // Read ahead and counted already: `line` is its number when taken again.
                    self.pending = other;
                    return Ok(Some((at, first)));
                }
            }
        }
    }

    /// Splits `attr: value` / `attr:: base64` into the description and the value bytes.
    fn attr_value(&self, at: usize, line: &[u8]) -> Result<(String, Vec<u8>), LdifError> {
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| self.invalid(at, "expected 'attribute: value'"))?;
        let name = std::str::from_utf8(&line[..colon])
            .ok()
            .filter(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-;.=_".contains(&b))
            })
            .ok_or_else(|| {
                self.invalid(
                    at,
                    format!(
                        "'{}' is not an attribute description",
                        String::from_utf8_lossy(&line[..colon])
                    ),
                )
            })?
            .to_string();
        let rest = &line[colon + 1..];
        let trim = |r: &[u8]| -> Vec<u8> {
            let start = r.iter().position(|b| *b != b' ').unwrap_or(r.len());
            r[start..].to_vec()
        };
        match rest.first() {
            Some(b':') => {
                let text: Vec<u8> = trim(&rest[1..])
                    .into_iter()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                let value = base64::engine::general_purpose::STANDARD
                    .decode(&text)
                    .map_err(|e| self.invalid(at, format!("{name}: the base64 value does not decode ({e})")))?;
                Ok((name, value))
            }
            Some(b'<') => Err(self.invalid(
                at,
                format!("{name}: values given by URL (':<') are not imported: put the value itself in the file"),
            )),
            _ => Ok((name, trim(rest))),
        }
    }

    /// The next record; `Ok(None)` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, LdifError> {
        if self.done {
            return Ok(None);
        }
        let mut record: Option<Record> = None;
        loop {
            let Some((at, line)) = self.logical()? else {
                self.done = true;
                return Ok(record);
            };
            if line.is_empty() {
                if record.is_some() {
                    return Ok(record);
                }
                continue;
            }
            if line[0] == b'#' {
                continue;
            }
            let (name, value) = self.attr_value(at, &line)?;
            let Some(rec) = record.as_mut() else {
                if name.eq_ignore_ascii_case("version") {
                    if value != b"1" {
                        return Err(self.invalid(at, "only LDIF version 1 is known"));
                    }
                    continue;
                }
                if !name.eq_ignore_ascii_case("dn") {
                    return Err(
                        self.invalid(at, format!("a record must start with 'dn:', not '{name}:'"))
                    );
                }
                let dn = String::from_utf8(value)
                    .map_err(|_| self.invalid(at, "the DN is not UTF-8"))?;
                record = Some(Record {
                    dn,
                    attrs: Vec::new(),
                    line: at,
                });
                continue;
            };
            if name.eq_ignore_ascii_case("changetype") {
                if value.eq_ignore_ascii_case(b"add") && rec.attrs.is_empty() {
                    continue;
                }
                return Err(self.invalid(
                    at,
                    format!(
                        "'{}' is a change record (changetype: {}): only entries can be imported",
                        rec.dn,
                        String::from_utf8_lossy(&value)
                    ),
                ));
            }
            if name.eq_ignore_ascii_case("control") {
                return Err(self.invalid(
                    at,
                    "controls belong to change records: only entries can be imported",
                ));
            }
            if name == "-" {
                return Err(self.invalid(
                    at,
                    "'-' separates changes of a change record: only entries can be imported",
                ));
            }
            match rec
                .attrs
                .iter_mut()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                Some((_, values)) => values.push(value),
                None => rec.attrs.push((name, vec![value])),
            }
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Record, LdifError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Record>, String> {
        Reader::new(text.as_bytes(), "t.ldif")
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn folded_base64_and_comments() {
        let text = "version: 1\n# a comment\n#  folded\ndn: CN=Al\n ice,DC=x\nchangetype: add\ncn:: \n QWxpY2U=\nmail: a@x\nmail: b@x\r\n\n\ndn: DC=x\nobjectClass: domainDNS\n";
        let r = read(text).unwrap_or_default();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].dn, "CN=Alice,DC=x");
        assert_eq!(r[0].line, 4);
        assert_eq!(r[0].attrs[0], ("cn".to_string(), vec![b"Alice".to_vec()]));
        assert_eq!(r[0].attrs[1].1, vec![b"a@x".to_vec(), b"b@x".to_vec()]);
        assert_eq!(r[1].line, 13);
    }

    #[test]
    fn change_records_and_urls_are_refused_with_their_line() {
        let e = read("dn: CN=a,DC=x\nchangetype: modify\nreplace: cn\n").unwrap_err();
        assert_eq!(e, "t.ldif:2: 'CN=a,DC=x' is a change record (changetype: modify): only entries can be imported");
        let e = read("\ndn: CN=a,DC=x\njpegPhoto:< file:///tmp/a.jpg\n").unwrap_err();
        assert!(
            e.starts_with("t.ldif:3: jpegPhoto: values given by URL"),
            "{e}"
        );
        let e = read("dn: CN=a,DC=x\ncn:: !!!\n").unwrap_err();
        assert!(e.starts_with("t.ldif:2: cn: the base64"), "{e}");
    }
}
