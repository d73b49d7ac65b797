//! Framing and decoding of LDAP messages (RFC 4511 §4.1.1).
//!
//! Why not `ldap3_proto::LdapCodec` as is:
//! - its decoder turns every filter value into a `String` and refuses the message when a
//!   value is not UTF-8, so AD's everyday `(objectGUID=\d2\8d…)` filters would close the
//!   connection; search requests are decoded here, from `ldap3_lber` tags, into our
//!   byte-valued [`Filter`];
//! - it drops the criticality of some controls and fails a whole message on a control it
//!   cannot parse; controls are kept here as `(oid, critical, value)` so the session can
//!   answer an unknown critical control with unavailableCriticalExtension (RFC 4511 §4.1.11);
//! - it reads message ids without sign extension (−1 becomes 255); RFC 4511 §4.1.1 allows
//!   only 0..maxInt, so a negative id is a protocol error here;
//! - it learns a message's size only after parsing; the frame length is read from the BER
//!   header here, so an oversized request is refused before it is buffered (AD's
//!   MaxReceiveBuffer is 10,485,760 bytes: "a larger request closes the connection").
//!
//! Every other operation is handed to `ldap3_proto` (`LdapOp::try_from`) and every
//! response is built by it; [`super::encode`] writes the bytes.

use bytes::BytesMut;
use ldap3_lber::common::TagClass;
use ldap3_lber::parse::Parser;
use ldap3_lber::structure::{StructureTag, PL};
use ldap3_proto::proto::{LdapMsg, LdapOp};
use tokio_util::codec::{Decoder, Encoder};

use crate::directory::Scope;
use crate::filter::{Extensible, Filter, Substrings};

/// AD's MaxReceiveBuffer (`supportedLDAPPolicies`): the largest request accepted.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// How deeply BER elements may nest. A filter costs two levels per `(&…)`/`(|…)`/`(!…)`;
/// 64 allows filters nested about 28 deep, far more than any sync engine sends, while
/// keeping the recursive decoders and evaluators far from the stack's limit.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// One control of a request (RFC 4511 §4.1.11), undecoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    /// The control type, e.g. `1.2.840.113556.1.4.319`.
    pub oid: String,
    /// A critical control the server does not support fails the operation.
    pub critical: bool,
    /// The control value (its own BER for most controls).
    pub value: Option<Vec<u8>>,
}

/// The control with this OID, if the request carries it.
pub(crate) fn control<'a>(controls: &'a [Control], oid: &str) -> Option<&'a Control> {
    controls.iter().find(|c| c.oid == oid)
}

/// A search request with a byte-valued filter (RFC 4511 §4.5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// The base object, as sent.
    pub base: String,
    /// Base, one level or subtree.
    pub scope: Scope,
    /// 0 means no client limit.
    pub size_limit: i32,
    /// Seconds; 0 means no client limit.
    pub time_limit: i32,
    /// Attribute names only, no values.
    pub types_only: bool,
    /// The filter, values as raw bytes.
    pub filter: Filter,
    /// Requested attribute descriptions, as sent.
    pub attrs: Vec<String>,
}

/// The operation of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestOp {
    /// Decoded here (byte-valued filter).
    Search(SearchRequest),
    /// Decoded by ldap3_proto; only request variants reach the session.
    Other(LdapOp),
}

/// One decoded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The message id (0..maxInt), echoed in every response.
    pub msgid: i32,
    /// The operation.
    pub op: RequestOp,
    /// Request controls, in order.
    pub controls: Vec<Control>,
}

/// Why the byte stream cannot go on: each closes the connection.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The frame announces more than the configured maximum.
    #[error("request of {size} bytes is larger than the {max}-byte limit")]
    TooLarge {
        /// The announced size (`usize::MAX` when its length field is absurd).
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// Not a well-formed LDAPMessage.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Frames LDAP messages: decodes [`Request`]s, encodes `ldap3_proto` [`LdapMsg`]s.
#[derive(Debug, Clone)]
pub struct LdapServerCodec {
    /// Largest accepted message, header included.
    max_message: usize,
    /// Deepest accepted BER nesting.
    max_depth: usize,
}

impl LdapServerCodec {
    /// A codec with explicit limits (see [`DEFAULT_MAX_MESSAGE_BYTES`], [`DEFAULT_MAX_DEPTH`]).
    pub fn new(max_message: usize, max_depth: usize) -> Self {
        LdapServerCodec {
            max_message,
            max_depth: max_depth.max(4),
        }
    }
}

impl Default for LdapServerCodec {
    fn default() -> Self {
        LdapServerCodec::new(DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_DEPTH)
    }
}

/// Reads a BER header (`0x30`, length) and returns the whole frame's size, if known yet.
fn frame_size(buf: &[u8], max: usize) -> Result<Option<usize>, CodecError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first != 0x30 {
        return Err(CodecError::Malformed(
            "an LDAPMessage starts with a SEQUENCE tag",
        ));
    }
    let Some(&l0) = buf.get(1) else {
        return Ok(None);
    };
    let (len, header) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else if l0 == 0x80 {
        // RFC 4511 §5.1: only the definite form of length encoding is used.
        return Err(CodecError::Malformed("indefinite length"));
    } else {
        let n = (l0 & 0x7f) as usize;
        if n > 4 {
            return Err(CodecError::TooLarge {
                size: usize::MAX,
                max,
            });
        }
        let Some(bytes) = buf.get(2..2 + n) else {
            return Ok(None);
        };
        (
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize),
            2 + n,
        )
    };
    let size = header.saturating_add(len);
    if size > max {
        return Err(CodecError::TooLarge { size, max });
    }
    Ok(Some(size))
}

impl Decoder for LdapServerCodec {
    type Item = Request;
    type Error = CodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, CodecError> {
        let Some(size) = frame_size(buf, self.max_message)? else {
            return Ok(None);
        };
        if buf.len() < size {
            return Ok(None);
        }
        let frame = buf.split_to(size);
        let tag = {
            let mut parser = Parser::new(self.max_depth);
            match parser.parse(&frame) {
                Ok(([], tag)) => tag,
                _ => {
                    return Err(CodecError::Malformed(
                        "bad BER encoding or nesting too deep",
                    ))
                }
            }
        };
        decode_message(tag).map(Some)
    }
}

impl Encoder<LdapMsg> for LdapServerCodec {
    type Error = CodecError;

    fn encode(&mut self, msg: LdapMsg, buf: &mut BytesMut) -> Result<(), CodecError> {
        let tag: StructureTag = msg.into();
        super::encode::encode_into(buf, &tag);
        Ok(())
    }
}

/// A BER INTEGER (two's complement, big-endian) of at most 8 bytes.
pub(crate) fn ber_int(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
    for b in bytes {
        v = (v << 8) | i64::from(*b);
    }
    Some(v)
}

fn primitive(tag: StructureTag, class: TagClass, id: u64) -> Option<Vec<u8>> {
    (tag.class == class && tag.id == id).then_some(())?;
    match tag.payload {
        PL::P(bytes) => Some(bytes),
        PL::C(_) => None,
    }
}

fn constructed(tag: StructureTag, class: TagClass, id: u64) -> Option<Vec<StructureTag>> {
    (tag.class == class && tag.id == id).then_some(())?;
    match tag.payload {
        PL::C(inner) => Some(inner),
        PL::P(_) => None,
    }
}

const MALFORMED_MSGID: CodecError =
    CodecError::Malformed("message id must be an INTEGER in 0..2147483647");

fn decode_message(tag: StructureTag) -> Result<Request, CodecError> {
    let parts =
        constructed(tag, TagClass::Universal, 16).ok_or(CodecError::Malformed("not a SEQUENCE"))?;
    let mut parts = parts.into_iter();
    let msgid = parts
        .next()
        .and_then(|t| primitive(t, TagClass::Universal, 2))
        .and_then(|b| ber_int(&b))
        .ok_or(MALFORMED_MSGID)?;
    let msgid = i32::try_from(msgid)
        .ok()
        .filter(|m| *m >= 0)
        .ok_or(MALFORMED_MSGID)?;
    let op = parts.next().ok_or(CodecError::Malformed("no protocolOp"))?;
    let controls = match parts.next() {
        None => Vec::new(),
        Some(t) => decode_controls(t)?,
    };
    if parts.next().is_some() {
        return Err(CodecError::Malformed(
            "trailing elements after the controls",
        ));
    }
    if op.class != TagClass::Application {
        return Err(CodecError::Malformed(
            "protocolOp is not an APPLICATION tag",
        ));
    }
    let op = if op.id == 3 {
        let inner = match op.payload {
            PL::C(inner) => inner,
            PL::P(_) => return Err(CodecError::Malformed("searchRequest is not constructed")),
        };
        RequestOp::Search(decode_search(inner)?)
    } else {
        let op =
            LdapOp::try_from(op).map_err(|_| CodecError::Malformed("undecodable protocolOp"))?;
        match op {
            LdapOp::BindRequest(_)
            | LdapOp::UnbindRequest
            | LdapOp::ModifyRequest(_)
            | LdapOp::AddRequest(_)
            | LdapOp::DelRequest(_)
            | LdapOp::ModifyDNRequest(_)
            | LdapOp::CompareRequest(_)
            | LdapOp::AbandonRequest(_)
            | LdapOp::ExtendedRequest(_) => RequestOp::Other(op),
            _ => return Err(CodecError::Malformed("protocolOp is not a request")),
        }
    };
    Ok(Request {
        msgid,
        op,
        controls,
    })
}

fn decode_controls(tag: StructureTag) -> Result<Vec<Control>, CodecError> {
    const BAD: CodecError = CodecError::Malformed("bad control");
    let list = constructed(tag, TagClass::Context, 0).ok_or(BAD)?;
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let mut fields = constructed(c, TagClass::Universal, 16)
            .ok_or(BAD)?
            .into_iter();
        let oid = fields
            .next()
            .and_then(|t| primitive(t, TagClass::Universal, 4))
            .ok_or(BAD)?;
        let oid = String::from_utf8(oid).map_err(|_| BAD)?;
        let mut critical = false;
        let mut value = None;
        for f in fields {
            match (f.class, f.id, f.payload) {
                (TagClass::Universal, 1, PL::P(b)) if value.is_none() => {
                    critical = b.iter().any(|x| *x != 0)
                }
                (TagClass::Universal, 4, PL::P(b)) if value.is_none() => value = Some(b),
                _ => return Err(BAD),
            }
        }
        out.push(Control {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}

fn decode_search(inner: Vec<StructureTag>) -> Result<SearchRequest, CodecError> {
    const BAD: CodecError = CodecError::Malformed("bad searchRequest");
    if inner.len() != 8 {
        return Err(BAD);
    }
    let mut it = inner.into_iter();
    let mut next = || it.next().ok_or(BAD);
    let base = primitive(next()?, TagClass::Universal, 4).ok_or(BAD)?;
    // RFC 4511 §4.1.3: an LDAPDN is a UTF-8 string.
    let base = String::from_utf8(base).map_err(|_| BAD)?;
    let scope = match primitive(next()?, TagClass::Universal, 10).and_then(|b| ber_int(&b)) {
        Some(0) => Scope::Base,
        Some(1) => Scope::OneLevel,
        Some(2) => Scope::Subtree,
        _ => return Err(BAD),
    };
    // derefAliases: AD has no aliases; any valid value is accepted and ignored.
    match primitive(next()?, TagClass::Universal, 10).and_then(|b| ber_int(&b)) {
        Some(0..=3) => {}
        _ => return Err(BAD),
    }
    let limit = |t: StructureTag| -> Result<i32, CodecError> {
        let v = primitive(t, TagClass::Universal, 2)
            .and_then(|b| ber_int(&b))
            .ok_or(BAD)?;
        // Negative limits are nonsense; treat them (and huge ones) as "no client limit".
        Ok(i32::try_from(v).unwrap_or(0).max(0))
    };
    let size_limit = limit(next()?)?;
    let time_limit = limit(next()?)?;
    let types_only = primitive(next()?, TagClass::Universal, 1)
        .ok_or(BAD)?
        .iter()
        .any(|b| *b != 0);
    let filter = decode_filter(next()?)?;
    let attrs = constructed(next()?, TagClass::Universal, 16).ok_or(BAD)?;
    let attrs = attrs
        .into_iter()
        .map(|a| {
            primitive(a, TagClass::Universal, 4).map(|b| String::from_utf8_lossy(&b).into_owned())
        })
        .collect::<Option<Vec<String>>>()
        .ok_or(BAD)?;
    Ok(SearchRequest {
        base,
        scope,
        size_limit,
        time_limit,
        types_only,
        filter,
        attrs,
    })
}

const BAD_FILTER: CodecError = CodecError::Malformed("bad filter");

fn attr_desc(bytes: Vec<u8>) -> Result<String, CodecError> {
    // Attribute descriptions are ASCII keystrings or OIDs (RFC 4512 §2.5).
    String::from_utf8(bytes).map_err(|_| BAD_FILTER)
}

fn ava(inner: Vec<StructureTag>) -> Result<(String, Vec<u8>), CodecError> {
    let mut it = inner.into_iter();
    let attr = it
        .next()
        .and_then(|t| primitive(t, TagClass::Universal, 4))
        .ok_or(BAD_FILTER)?;
    let value = it
        .next()
        .and_then(|t| primitive(t, TagClass::Universal, 4))
        .ok_or(BAD_FILTER)?;
    if it.next().is_some() {
        return Err(BAD_FILTER);
    }
    Ok((attr_desc(attr)?, value))
}

/// Decodes a Filter CHOICE (RFC 4511 §4.5.1.7). Recursion is bounded by the parser's
/// depth limit, which already refused anything nested deeper.
pub(crate) fn decode_filter(tag: StructureTag) -> Result<Filter, CodecError> {
    if tag.class != TagClass::Context {
        return Err(BAD_FILTER);
    }
    Ok(match (tag.id, tag.payload) {
        (0, PL::C(v)) => Filter::And(v.into_iter().map(decode_filter).collect::<Result<_, _>>()?),
        (1, PL::C(v)) => Filter::Or(v.into_iter().map(decode_filter).collect::<Result<_, _>>()?),
        (2, PL::C(mut v)) if v.len() == 1 => {
            let inner = v.pop().ok_or(BAD_FILTER)?;
            Filter::Not(Box::new(decode_filter(inner)?))
        }
        (3, PL::C(v)) => {
            let (a, val) = ava(v)?;
            Filter::Equality(a, val)
        }
        (4, PL::C(v)) => {
            let mut it = v.into_iter();
            let attr = it
                .next()
                .and_then(|t| primitive(t, TagClass::Universal, 4))
                .ok_or(BAD_FILTER)?;
            let parts = it
                .next()
                .and_then(|t| constructed(t, TagClass::Universal, 16))
                .ok_or(BAD_FILTER)?;
            let mut subs = Substrings::default();
            for (i, p) in parts.iter().enumerate() {
                let PL::P(bytes) = &p.payload else {
                    return Err(BAD_FILTER);
                };
                if p.class != TagClass::Context {
                    return Err(BAD_FILTER);
                }
                match p.id {
                    // RFC 4511: initial only first, final only last, at most one each.
                    0 if i == 0 => subs.initial = Some(bytes.clone()),
                    1 => subs.any.push(bytes.clone()),
                    2 if i + 1 == parts.len() => subs.final_ = Some(bytes.clone()),
                    _ => return Err(BAD_FILTER),
                }
            }
            if parts.is_empty() {
                return Err(BAD_FILTER);
            }
            Filter::Substrings(attr_desc(attr)?, subs)
        }
        (5, PL::C(v)) => {
            let (a, val) = ava(v)?;
            Filter::GreaterOrEqual(a, val)
        }
        (6, PL::C(v)) => {
            let (a, val) = ava(v)?;
            Filter::LessOrEqual(a, val)
        }
        (7, PL::P(b)) => Filter::Present(attr_desc(b)?),
        (8, PL::C(v)) => {
            let (a, val) = ava(v)?;
            Filter::Approx(a, val)
        }
        (9, PL::C(v)) => {
            let mut ext = Extensible {
                rule: None,
                attr: None,
                value: Vec::new(),
                dn_attributes: false,
            };
            let mut have_value = false;
            for f in v {
                let PL::P(bytes) = f.payload else {
                    return Err(BAD_FILTER);
                };
                match (f.class, f.id) {
                    (TagClass::Context, 1) => ext.rule = Some(attr_desc(bytes)?),
                    (TagClass::Context, 2) => ext.attr = Some(attr_desc(bytes)?),
                    (TagClass::Context, 3) => {
                        ext.value = bytes;
                        have_value = true;
                    }
                    (TagClass::Context, 4) => ext.dn_attributes = bytes.iter().any(|b| *b != 0),
                    _ => return Err(BAD_FILTER),
                }
            }
            // RFC 4511 §4.5.1.7.7: a rule or a type must be present, and the value always.
            if !have_value || (ext.rule.is_none() && ext.attr.is_none()) {
                return Err(BAD_FILTER);
            }
            Filter::Extensible(ext)
        }
        _ => return Err(BAD_FILTER),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search request for `(objectGUID=<16 binary bytes>)`, BER by hand.
    fn guid_search(msgid: u8) -> Vec<u8> {
        let guid: Vec<u8> = (0xf0..=0xff).collect();
        let mut ava = vec![0x04, 0x0a];
        ava.extend_from_slice(b"objectGUID");
        ava.extend_from_slice(&[0x04, 0x10]);
        ava.extend_from_slice(&guid);
        let mut filter = vec![0xa3, ava.len() as u8];
        filter.extend(ava);
        let mut body = vec![
            0x04, 0x00, 0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
            0x01, 0x01, 0x00,
        ];
        body.extend(filter);
        body.extend_from_slice(&[0x30, 0x00]);
        let mut op = vec![0x63, body.len() as u8];
        op.extend(body);
        let mut msg = vec![0x02, 0x01, msgid];
        msg.extend(op);
        let mut out = vec![0x30, msg.len() as u8];
        out.extend(msg);
        out
    }

    #[test]
    fn binary_filter_values_decode() {
        let mut codec = LdapServerCodec::default();
        let mut buf = BytesMut::from(&guid_search(7)[..]);
        let req = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(req.msgid, 7);
        let RequestOp::Search(s) = req.op else {
            panic!("not a search")
        };
        assert_eq!(
            s.filter,
            Filter::Equality("objectGUID".into(), (0xf0..=0xff).collect())
        );
        assert_eq!(s.scope, Scope::Subtree);
        assert!(buf.is_empty());
    }

    #[test]
    fn partial_frames_wait_and_oversize_fails_early() {
        let mut codec = LdapServerCodec::new(100, 16);
        let whole = guid_search(1);
        let mut buf = BytesMut::from(&whole[..10]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let mut huge = BytesMut::from(&[0x30u8, 0x84, 0x7f, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            codec.decode(&mut huge),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn negative_message_ids_are_refused() {
        let mut bytes = guid_search(0xff); // 0xff is −1 in two's complement
        bytes[4] = 0xff;
        let mut codec = LdapServerCodec::default();
        let mut buf = BytesMut::from(&bytes[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::Malformed(_))
        ));
        assert_eq!(ber_int(&[0xff]), Some(-1));
        assert_eq!(ber_int(&[0x00, 0xff]), Some(255));
    }
}
