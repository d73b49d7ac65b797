//! Just enough BER for the session target: a tree of TLVs that the mutator can reshape
//! and re-encode, and a reader that checks the server's answers are whole LDAP messages.

/// One TLV: a constructed node holds children, a primitive one raw content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u8,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Primitive(Vec<u8>),
    Constructed(Vec<Tlv>),
}

impl Tlv {
    pub fn primitive(tag: u8, content: &[u8]) -> Tlv {
        Tlv {
            tag,
            body: Body::Primitive(content.to_vec()),
        }
    }

    pub fn constructed(tag: u8, children: Vec<Tlv>) -> Tlv {
        Tlv {
            tag,
            body: Body::Constructed(children),
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut content = Vec::new();
        match &self.body {
            Body::Primitive(bytes) => content.extend_from_slice(bytes),
            Body::Constructed(children) => children.iter().for_each(|c| c.encode(&mut content)),
        }
        out.push(self.tag);
        push_length(out, content.len());
        out.extend_from_slice(&content);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Nodes in pre-order, so a mutator can pick one by index.
    pub fn count(&self) -> usize {
        1 + match &self.body {
            Body::Primitive(_) => 0,
            Body::Constructed(children) => children.iter().map(Tlv::count).sum(),
        }
    }

    /// The `index`-th node in pre-order (0 is `self`); `None` past the end.
    pub fn nth_mut(&mut self, index: usize) -> Option<&mut Tlv> {
        if index == 0 {
            return Some(self);
        }
        let mut rest = index - 1;
        if let Body::Constructed(children) = &mut self.body {
            for child in children {
                let n = child.count();
                if rest < n {
                    return child.nth_mut(rest);
                }
                rest -= n;
            }
        }
        None
    }
}

/// Definite length, short form below 128, else the shortest long form.
pub fn push_length(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
        return;
    }
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    out.push(0x80 | (bytes.len() - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Reads one TLV header at `pos`: (tag, content start, content length). `None` when the
/// bytes end first, the length is indefinite, or it needs more than four bytes.
pub fn header(bytes: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *bytes.get(pos)?;
    let first = *bytes.get(pos + 1)?;
    if first < 0x80 {
        return Some((tag, pos + 2, first as usize));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *bytes.get(pos + 2 + i)? as usize;
    }
    Some((tag, pos + 2 + n, len))
}

/// Parses a run of TLVs that fills `bytes` exactly; constructed tags (bit 6) are parsed
/// into children when their content is itself whole TLVs, else kept as bytes.
pub fn parse_all(bytes: &[u8]) -> Option<Vec<Tlv>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (tag, start, len) = header(bytes, pos)?;
        let end = start.checked_add(len).filter(|e| *e <= bytes.len())?;
        let content = &bytes[start..end];
        let body = match (tag & 0x20 != 0).then(|| parse_all(content)).flatten() {
            Some(children) => Body::Constructed(children),
            None => Body::Primitive(content.to_vec()),
        };
        out.push(Tlv { tag, body });
        pos = end;
    }
    Some(out)
}

/// Splits the server's output into LDAPMessages, or says what is wrong with it: every
/// message must be a whole SEQUENCE of a non-negative INTEGER id and an APPLICATION-class
/// protocolOp (optionally followed by controls). With `cut_tail_ok` the last message may
/// end early (the connection was reset, which loses what the client had not read).
pub fn check_responses(bytes: &[u8], cut_tail_ok: bool) -> Result<Vec<(i64, u8)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let whole = header(bytes, pos)
            .filter(|(_, start, len)| start.checked_add(*len).is_some_and(|e| e <= bytes.len()));
        let Some((tag, start, len)) = whole else {
            if cut_tail_ok {
                break;
            }
            return Err(match header(bytes, pos) {
                None => format!("unreadable header at byte {pos}"),
                Some(_) => format!("message at byte {pos} is cut off"),
            });
        };
        let end = start + len;
        if tag != 0x30 {
            return Err(format!(
                "message at byte {pos} has tag {tag:#04x}, not SEQUENCE"
            ));
        }
        let (id_tag, id_start, id_len) =
            header(bytes, start).ok_or_else(|| format!("no message id at byte {start}"))?;
        if id_tag != 0x02 || id_len == 0 || id_len > 4 || id_start + id_len > end {
            return Err(format!("bad message id at byte {start}"));
        }
        let id_bytes = &bytes[id_start..id_start + id_len];
        if id_bytes[0] & 0x80 != 0 {
            return Err(format!("negative message id at byte {start}"));
        }
        let id = id_bytes
            .iter()
            .fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
        let op_pos = id_start + id_len;
        let (op, op_start, op_len) =
            header(bytes, op_pos).ok_or_else(|| format!("no protocolOp at byte {op_pos}"))?;
        if op & 0xc0 != 0x40 || op_start + op_len > end {
            return Err(format!(
                "protocolOp {op:#04x} at byte {op_pos} is not an APPLICATION tag"
            ));
        }
        out.push((id, op & 0x1f));
        pos = end;
    }
    Ok(out)
}
