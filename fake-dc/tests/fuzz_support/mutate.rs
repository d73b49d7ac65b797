//! The mutators of the in-`cargo test` fuzz loop: byte-level havoc with a per-target
//! dictionary, plus mutations that know each input's structure (filters and DNs as
//! tokens and parenthesised or comma-separated parts, fixtures as YAML lines, sessions
//! as BER trees). Seeded, so a run can be repeated with `FUZZ_SEED`.

use super::ber::{self, Body, Tlv};

/// xorshift64*: small, seedable and good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// Below `big` once in `one_in` times, else below `small`: mostly small changes, now
    /// and then a large one.
    pub fn size(&mut self, one_in: usize, big: usize, small: usize) -> usize {
        let bound = if self.chance(one_in) { big } else { small };
        self.below(bound)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that sit on the edges of parsers: signs, escapes, non-UTF-8, huge lengths.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0x81, 0x84, 0xff, b'\\', b'(', b')', b'*', b'=',
];

/// One to eight stacked byte-level mutations, splicing from the corpus and dictionary.
pub fn havoc(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>], dict: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = out.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = *rng.pick(INTERESTING);
            }
            2 if !dict.is_empty() => {
                let at = rng.below(len + 1);
                let token = rng.pick(dict);
                out.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(16)).min(len);
                out.drain(at..end);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(32)).min(len);
                let chunk = out[at..end].to_vec();
                let to = rng.below(len + 1);
                out.splice(to..to, chunk);
            }
            5 if !corpus.is_empty() => {
                let other = rng.pick(corpus);
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let end = (from + 1 + rng.below(64)).min(other.len());
                    let at = rng.below(len + 1);
                    out.splice(at..at, other[from..end].iter().copied());
                }
            }
            6 if len > 0 => out.truncate(rng.below(len)),
            7 => {
                let byte = rng.next() as u8;
                let at = rng.below(len + 1);
                out.insert(at, byte);
            }
            _ if !dict.is_empty() => {
                // A token repeated: wide lists and long runs.
                let token = rng.pick(dict).to_vec();
                let times = 1 + rng.size(8, 400, 8);
                let at = rng.below(len + 1);
                out.splice(at..at, token.repeat(times));
            }
            _ => {}
        }
    }
    out
}

pub const FILTER_DICT: &[&[u8]] = &[
    b"(",
    b")",
    b"(&",
    b"(|",
    b"(!",
    b"=",
    b"~=",
    b">=",
    b"<=",
    b"=*",
    b"*",
    b":=",
    b":dn",
    b":dn:",
    b":1.2.840.113556.1.4.803:=",
    b":1.2.840.113556.1.4.1941:=",
    b":caseExactMatch:=",
    b"\\",
    b"\\2a",
    b"\\28",
    b"\\29",
    b"\\5c",
    b"\\00",
    b"\\ff",
    b"\\c3\\a9",
    b"\\4",
    b"cn",
    b"objectClass",
    b"mail",
    b"member;range=0-*",
    b"member;range=1500-2999",
    b";binary",
    b"1.2.3",
    b"objectGUID",
    b"\xc3\xa9",
    b"\xe2\x82\xac",
    b" ",
    b"\t",
    b"-",
    b";",
    b"\0",
];

/// A filter input: havoc, or a structural change of its parenthesised parts.
pub fn filter(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(6) {
        0 => {
            // Wrap in operators, sometimes many levels deep.
            let depth = 1 + rng.size(4, 120, 3);
            let mut out = input.to_vec();
            for _ in 0..depth {
                let op: &[u8] = rng.pick::<&[u8]>(&[&b"(&"[..], b"(|", b"(!"]);
                out = [op, &out, b")"].concat();
            }
            out
        }
        1 => {
            // Duplicate, drop or swap balanced parts.
            let parts = balanced(input);
            if parts.is_empty() {
                return havoc(rng, input, corpus, FILTER_DICT);
            }
            let (s, e) = *rng.pick(&parts);
            let mut out = input.to_vec();
            match rng.below(3) {
                0 => {
                    let copies = 1 + rng.size(6, 200, 3);
                    out.splice(e..e, input[s..e].repeat(copies));
                }
                1 => {
                    out.drain(s..e);
                }
                _ => {
                    let other = rng.pick(corpus);
                    let theirs = balanced(other);
                    if let Some(&(os, oe)) = theirs.get(rng.below(theirs.len().max(1))) {
                        out.splice(s..e, other[os..oe].iter().copied());
                    }
                }
            }
            out
        }
        _ => havoc(rng, input, corpus, FILTER_DICT),
    }
}

/// Spans `(…)` with balanced parentheses (escapes ignored: good enough to pick parts).
fn balanced(input: &[u8]) -> Vec<(usize, usize)> {
    let mut open = Vec::new();
    let mut spans = Vec::new();
    for (i, b) in input.iter().enumerate() {
        match b {
            b'(' => open.push(i),
            b')' => {
                if let Some(s) = open.pop() {
                    spans.push((s, i + 1));
                }
            }
            _ => {}
        }
    }
    spans
}

pub const DN_DICT: &[&[u8]] = &[
    b",",
    b"+",
    b"=",
    b"\\",
    b"\\,",
    b"\\2C",
    b"\\3D",
    b"\\20",
    b"\\0A",
    b"\\00",
    b"\\ff",
    b"\\",
    b"\"",
    b"#",
    b"#04024869",
    b" ",
    b";",
    b"<",
    b">",
    b"CN=",
    b"OU=",
    b"DC=",
    b"cn=",
    b"1.2.840.113556.1.4.1=",
    b"2.5.4.3=",
    b"\xc3\xa9",
    b"\xe2\x82\xac",
    b"\0",
    b"a+b=c",
];

/// A DN input: havoc, or RDNs duplicated, dropped or reordered.
pub fn dn(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    if rng.chance(3) {
        let mut rdns: Vec<&[u8]> = input.split(|b| *b == b',').collect();
        match rng.below(3) {
            0 if !rdns.is_empty() => {
                let i = rng.below(rdns.len());
                let copies = 1 + rng.size(6, 300, 3);
                for _ in 0..copies {
                    rdns.insert(i, rdns[i]);
                }
            }
            1 if rdns.len() > 1 => {
                rdns.remove(rng.below(rdns.len()));
            }
            _ if rdns.len() > 1 => {
                let (a, b) = (rng.below(rdns.len()), rng.below(rdns.len()));
                rdns.swap(a, b);
            }
            _ => {}
        }
        return rdns.join(&b","[..]);
    }
    havoc(rng, input, corpus, DN_DICT)
}

pub const YAML_DICT: &[&[u8]] = &[
    b": ",
    b"- ",
    b"\n",
    b"  ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"'",
    b"\"",
    b"#",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"!!str ",
    b"~",
    b"null",
    b"-1",
    b"4294967296",
    b"1e999",
    b".nan",
    b"0x10",
    b"\t",
    b"? ",
    b"|\n",
    b">\n",
    b"<<: *a",
    b"---\n",
    b"...\n",
    b"\xc3\xa9",
    b"\0",
    b"domains",
    b"users",
    b"groups",
    b"members",
    b"generate",
    b"ous",
    b"cn",
    b"sAMAccountName",
    b"mail",
    b"state",
    b"queryPolicy",
    b"MaxPageSize",
    b"objectGUID",
    b"dns",
    b"dcs",
];

/// A fixture input: havoc, or whole lines duplicated, dropped, moved or re-indented.
pub fn fixture(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    if rng.chance(2) {
        let mut lines: Vec<Vec<u8>> = input.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        let n = lines.len();
        if n > 0 {
            let i = rng.below(n);
            match rng.below(5) {
                0 => {
                    let line = lines[i].clone();
                    lines.insert(rng.below(n + 1), line);
                }
                1 => {
                    lines.remove(i);
                }
                2 => {
                    let other = rng.pick(corpus);
                    let theirs: Vec<&[u8]> = other.split(|b| *b == b'\n').collect();
                    lines.insert(i, rng.pick(&theirs).to_vec());
                }
                3 => {
                    let line = &mut lines[i];
                    if rng.chance(2) {
                        line.splice(0..0, b"  ".iter().copied());
                    } else if line.starts_with(b"  ") {
                        line.drain(0..2);
                    }
                }
                _ => {
                    // Replace a scalar after `: ` with an edge value.
                    let line = &mut lines[i];
                    if let Some(at) = line.windows(2).position(|w| w == b": ") {
                        line.truncate(at + 2);
                        line.extend_from_slice(rng.pick::<&[u8]>(YAML_DICT));
                    }
                }
            }
        }
        return lines.join(&b'\n');
    }
    havoc(rng, input, corpus, YAML_DICT)
}

/// BER tags that mean something in an LDAP request.
const TAGS: &[u8] = &[
    0x01, 0x02, 0x04, 0x0a, 0x30, 0x31, 0x42, 0x4a, 0x50, 0x60, 0x63, 0x66, 0x68, 0x6c, 0x6e, 0x77,
    0x80, 0x81, 0x82, 0x83, 0x87, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa8, 0xa9,
];

const BER_DICT: &[&[u8]] = &[
    b"objectClass",
    b"*",
    b"+",
    b"1.1",
    b"member;range=0-*",
    b"1.2.840.113556.1.4.319",
    b"1.2.840.113556.1.4.417",
    b"1.2.840.113556.1.4.801",
    b"1.3.6.1.4.1.1466.20037",
    b"DC=corp,DC=example,DC=test",
    b"<GUID=00000000-0000-0000-0000-000000000000>",
    b"\x30\x84\xff\xff\xff\xff",
    b"\x02\x05\x00\xff\xff\xff\xff",
    b"\x04\x00",
    b"\x30\x80",
];

/// A session input: a structural change of its BER messages (tags, contents, children
/// duplicated or dropped, nodes nested deep or repeated wide, subtrees spliced from other
/// seeds), then sometimes byte-level havoc over the encoding.
pub fn session(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let Some(mut messages) = ber::parse_all(input).filter(|m| !m.is_empty()) else {
        return havoc(rng, input, corpus, BER_DICT);
    };
    for _ in 0..1 + rng.below(3) {
        let m = rng.below(messages.len());
        match rng.below(4) {
            0 if messages.len() < 64 => {
                let copy = messages[m].clone();
                messages.insert(rng.below(messages.len() + 1), copy);
            }
            1 if messages.len() > 1 => {
                messages.remove(m);
            }
            _ => mutate_tree(rng, &mut messages[m], corpus),
        }
    }
    let mut out = Vec::new();
    messages.iter().for_each(|t| t.encode(&mut out));
    if rng.chance(4) {
        out = havoc(rng, &out, corpus, BER_DICT);
    }
    out
}

fn mutate_tree(rng: &mut Rng, tree: &mut Tlv, corpus: &[Vec<u8>]) {
    let index = rng.below(tree.count());
    let donor_bytes = rng.pick(corpus).clone();
    let donor = ber::parse_all(&donor_bytes).unwrap_or_default();
    let Some(node) = tree.nth_mut(index) else {
        return;
    };
    match rng.below(7) {
        0 => node.tag = *rng.pick(TAGS),
        1 => {
            let bytes = match &node.body {
                Body::Primitive(b) => b.clone(),
                Body::Constructed(_) => node.to_bytes(),
            };
            node.body = Body::Primitive(havoc(rng, &bytes, corpus, BER_DICT));
        }
        2 => {
            // Nest deep: the codec's depth limit and the filter evaluator's recursion.
            let depth = 1 + rng.size(3, 400, 8);
            let wrapper = if rng.chance(2) {
                0xa2
            } else {
                *rng.pick(TAGS) | 0x20
            };
            for _ in 0..depth {
                let inner = std::mem::replace(node, Tlv::primitive(0, &[]));
                *node = Tlv::constructed(wrapper, vec![inner]);
            }
        }
        3 => {
            if let Body::Constructed(children) = &mut node.body {
                if !children.is_empty() {
                    let i = rng.below(children.len());
                    let copies = 1 + rng.size(4, 3_000, 4);
                    let child = children[i].clone();
                    children.splice(i..i, std::iter::repeat_n(child, copies));
                }
            }
        }
        4 => {
            if let Body::Constructed(children) = &mut node.body {
                if !children.is_empty() {
                    children.remove(rng.below(children.len()));
                }
            }
        }
        5 => {
            // Graft a subtree of another seed.
            if let Some(donor) = donor.first() {
                let mut donor = donor.clone();
                let pick = rng.below(donor.count());
                if let Some(graft) = donor.nth_mut(pick) {
                    *node = graft.clone();
                }
            }
        }
        _ => {
            if let Body::Primitive(bytes) = &mut node.body {
                let value: &[u8] = rng.pick::<&[u8]>(BER_DICT);
                *bytes = value.to_vec();
            }
        }
    }
}
