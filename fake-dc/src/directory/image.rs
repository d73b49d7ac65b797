//! A loaded directory as bytes and back: what the fixture cache (`fixture/cache.rs`)
//! keeps on disk, so the second start of a big fixture reads its entries instead of
//! parsing and generating them again.
//!
//! The entries are written as they are, in chunks, with attribute names as numbers into
//! one table so that reading interns each name once. The indexes are not written: they
//! hash with a per-process seed and are as cheap to rebuild as to read, so they are
//! rebuilt as the entries arrive, on this thread, while a second one decodes the next
//! chunk. The `azureAd` tenant is not part of the image: it is derived from the entries
//! and its spec, and the caller resolves it again.
//!
//! Nothing read is trusted: a chunk whose checksum differs, a name or entry number out of
//! range, or a parent chain that never reaches a naming-context head is an [`ImageError`],
//! never a panic or a loop.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::sync::{mpsc, Arc};

use serde::{Deserialize, Serialize};

use super::{AttrValues, Directory, Domain, Entry, EntryId, Guid, Sid};
use crate::dn::Rdn;
use crate::schema::ObjectKind;

/// The first bytes of an image; the number is the format's version.
const MAGIC: &[u8; 16] = b"fake-dc image 1\n";
/// Entries per chunk: big enough that framing costs nothing, small enough that decoding
/// and indexing overlap from the start.
const CHUNK: usize = 4096;
/// The most entries room is made for before they are read.
const MAX_RESERVED: usize = 4 << 20;

/// Why an image could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not a directory image of this format")]
    Format,
    #[error("chunk {0} is damaged (its checksum differs)")]
    Checksum(usize),
    #[error("cannot decode the image's {what}: {source}")]
    Decode {
        what: &'static str,
        source: postcard::Error,
    },
    #[error("cannot encode the image: {0}")]
    Encode(postcard::Error),
    #[error("the image is inconsistent: {0}")]
    Inconsistent(String),
}

/// Everything but the entries and the indexes.
#[derive(Serialize, Deserialize)]
struct Header {
    entries: u64,
    names: Vec<String>,
    domains: Vec<Domain>,
    configuration: Option<EntryId>,
    schema: Option<EntryId>,
    dns_zones: Vec<EntryId>,
    usn: u64,
    seed: u64,
    head_suffix: Vec<(EntryId, Vec<Rdn>)>,
    query_policy: crate::policy::QueryPolicy,
    entry_order: crate::order::EntryOrder,
    replication_grants: Vec<(EntryId, EntryId)>,
    /// Each kind's entries as the directory had them, which is not always "the live ones":
    /// the skeleton's `CN=Deleted Objects` is flagged deleted after it is indexed.
    classes: Vec<(ObjectKind, Vec<EntryId>)>,
    /// The Google spec as JSON: its serde attributes skip empty fields, which a format
    /// without field names cannot read back.
    google: Option<String>,
}

/// One entry as written: [`Entry`] borrowed, names as numbers. Field for field the same
/// shape as [`EntryIn`] (the round-trip test holds them together).
#[derive(Serialize)]
struct EntryOut<'a> {
    rdn: &'a Rdn,
    parent: Option<EntryId>,
    kind: ObjectKind,
    guid: Guid,
    sid: &'a Option<Sid>,
    usn_created: u64,
    usn_changed: u64,
    when_created: i64,
    when_changed: i64,
    attrs: Vec<(u32, &'a AttrValues)>,
    members: &'a [EntryId],
    member_of: &'a [EntryId],
    children: &'a [EntryId],
    password: &'a Option<String>,
    read_scopes: &'a Option<Vec<EntryId>>,
    deleted: bool,
    last_known_parent: Option<EntryId>,
    attr_usns: Vec<(u32, u64)>,
    link_usns: &'a [(EntryId, u64, bool)],
}

/// One entry as read.
#[derive(Deserialize)]
struct EntryIn {
    rdn: Rdn,
    parent: Option<EntryId>,
    kind: ObjectKind,
    guid: Guid,
    sid: Option<Sid>,
    usn_created: u64,
    usn_changed: u64,
    when_created: i64,
    when_changed: i64,
    attrs: Vec<(u32, AttrValues)>,
    members: Vec<EntryId>,
    member_of: Vec<EntryId>,
    children: Vec<EntryId>,
    password: Option<String>,
    read_scopes: Option<Vec<EntryId>>,
    deleted: bool,
    last_known_parent: Option<EntryId>,
    attr_usns: Vec<(u32, u64)>,
    link_usns: Vec<(EntryId, u64, bool)>,
}

fn checksum(bytes: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0x696d_6167_655f_6331).hash_one(bytes)
}

impl Directory {
    /// Writes the directory as an image (see the module documentation).
    pub fn write_image(&self, out: &mut impl Write) -> Result<(), ImageError> {
        // Numbered in a first pass: the table goes in the header, before any entry.
        let mut numbers: HashMap<&str, u32> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        for e in &self.entries {
            let used = e
                .attrs
                .iter()
                .map(|a| &a.name)
                .chain(e.attr_usns.iter().map(|(n, _)| n));
            for name in used {
                if !numbers.contains_key(&**name) {
                    numbers.insert(name, names.len() as u32);
                    names.push(name.to_string());
                }
            }
        }
        let header = Header {
            entries: self.entries.len() as u64,
            names,
            domains: self.domains.clone(),
            configuration: self.configuration,
            schema: self.schema,
            dns_zones: self.dns_zones.clone(),
            usn: self.usn,
            seed: self.seed,
            head_suffix: {
                let mut heads: Vec<_> = self
                    .head_suffix
                    .iter()
                    .map(|(k, v)| (*k, v.clone()))
                    .collect();
                heads.sort_by_key(|(id, _)| *id);
                heads
            },
            query_policy: self.query_policy.clone(),
            entry_order: self.entry_order,
            replication_grants: self.replication_grants.clone(),
            classes: {
                let mut classes: Vec<_> = self
                    .class_index
                    .iter()
                    .map(|(kind, ids)| (*kind, ids.iter().copied().collect()))
                    .collect();
                classes.sort_by_key(|(kind, _)| *kind);
                classes
            },
            google: match &self.google {
                Some(g) => Some(serde_json::to_string(g).map_err(|e| {
                    ImageError::Inconsistent(format!("the Google spec does not encode: {e}"))
                })?),
                None => None,
            },
        };
        out.write_all(MAGIC)?;
        write_frame(
            out,
            &postcard::to_stdvec(&header).map_err(ImageError::Encode)?,
        )?;
        for chunk in self.entries.chunks(CHUNK) {
            let chunk: Vec<EntryOut<'_>> = chunk
                .iter()
                .map(|e| EntryOut {
                    rdn: &e.rdn,
                    parent: e.parent,
                    kind: e.kind,
                    guid: e.guid,
                    sid: &e.sid,
                    usn_created: e.usn_created,
                    usn_changed: e.usn_changed,
                    when_created: e.when_created,
                    when_changed: e.when_changed,
                    attrs: e
                        .attrs
                        .iter()
                        .map(|a| (numbers[&*a.name], &a.values))
                        .collect(),
                    members: &e.members,
                    member_of: &e.member_of,
                    children: &e.children,
                    password: &e.password,
                    read_scopes: &e.read_scopes,
                    deleted: e.deleted,
                    last_known_parent: e.last_known_parent,
                    attr_usns: e
                        .attr_usns
                        .iter()
                        .map(|(n, u)| (numbers[&**n], *u))
                        .collect(),
                    link_usns: &e.link_usns,
                })
                .collect();
            write_frame(
                out,
                &postcard::to_stdvec(&chunk).map_err(ImageError::Encode)?,
            )?;
        }
        Ok(())
    }

    /// Reads an image written by [`Directory::write_image`]. The clock is the system's;
    /// the `azureAd` tenant is `None` until the caller resolves it.
    pub fn read_image(input: &mut (impl Read + Send)) -> Result<Directory, ImageError> {
        let mut magic = [0u8; 16];
        input.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(ImageError::Format);
        }
        let header: Header = decode(&read_frame(input, 0)?, "header")?;
        let mut dir = Directory::new(header.seed);
        // Heads take the rest of their DN from here, so it is in place before they are indexed.
        dir.head_suffix = header.head_suffix.into_iter().collect();
        let names: Vec<Arc<str>> = header.names.iter().map(|n| dir.intern(n)).collect();
        let total = usize::try_from(header.entries)
            .map_err(|_| ImageError::Inconsistent("too many entries".into()))?;
        // Room up front saves rehashing every index as it grows; a damaged count can
        // claim any number, so the room is capped and the rest grows as entries arrive.
        dir.reserve(total.min(MAX_RESERVED));
        let chunks = total.div_ceil(CHUNK);
        std::thread::scope(|scope| {
            let (send, receive) = mpsc::sync_channel::<Result<Vec<Entry>, ImageError>>(2);
            scope.spawn(move || {
                for n in 1..=chunks {
                    let chunk = read_frame(input, n)
                        .and_then(|bytes| decode::<Vec<EntryIn>>(&bytes, "entries"))
                        .and_then(|chunk| chunk.into_iter().map(|e| entry(e, &names)).collect());
                    let failed = chunk.is_err();
                    // A closed channel means the reader gave up: stop decoding.
                    if send.send(chunk).is_err() || failed {
                        return;
                    }
                }
            });
            let mut linker = Linker::new(total);
            for chunk in receive.iter().take(chunks) {
                for e in chunk? {
                    linker.push(&mut dir, e);
                }
            }
            linker.finish(&mut dir)
        })?;
        dir.domains = header.domains;
        dir.configuration = header.configuration;
        dir.schema = header.schema;
        dir.dns_zones = header.dns_zones;
        dir.usn = header.usn;
        dir.query_policy = header.query_policy;
        dir.entry_order = header.entry_order;
        dir.replication_grants = header.replication_grants;
        dir.class_index = header
            .classes
            .into_iter()
            .map(|(kind, ids)| (kind, Arc::new(ids.into_iter().collect())))
            .collect();
        dir.google = match header.google {
            Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                ImageError::Inconsistent(format!("the Google spec does not decode: {e}"))
            })?),
            None => None,
        };
        check_ids(&dir)?;
        Ok(dir)
    }
}

fn write_frame(out: &mut impl Write, bytes: &[u8]) -> Result<(), ImageError> {
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(&checksum(bytes).to_le_bytes())?;
    out.write_all(bytes)?;
    Ok(())
}

/// One frame; `n` numbers it in errors (0 is the header).
fn read_frame(input: &mut impl Read, n: usize) -> Result<Vec<u8>, ImageError> {
    let mut head = [0u8; 16];
    input.read_exact(&mut head)?;
    let [len, sum] = [&head[..8], &head[8..]].map(|b| {
        let mut word = [0u8; 8];
        word.copy_from_slice(b);
        u64::from_le_bytes(word)
    });
    // Read through `take` so a damaged length cannot ask for more memory than the file has.
    let mut bytes = Vec::new();
    input.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len || checksum(&bytes) != sum {
        return Err(ImageError::Checksum(n));
    }
    Ok(bytes)
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T, ImageError> {
    postcard::from_bytes(bytes).map_err(|source| ImageError::Decode { what, source })
}

/// An entry as read, its names turned back into the directory's interned ones.
fn entry(e: EntryIn, names: &[Arc<str>]) -> Result<Entry, ImageError> {
    let name = |n: u32| {
        names.get(n as usize).cloned().ok_or_else(|| {
            ImageError::Inconsistent(format!("attribute name {n} is not in the table"))
        })
    };
    Ok(Entry {
        rdn: e.rdn,
        parent: e.parent,
        kind: e.kind,
        guid: e.guid,
        sid: e.sid,
        usn_created: e.usn_created,
        usn_changed: e.usn_changed,
        when_created: e.when_created,
        when_changed: e.when_changed,
        attrs: e
            .attrs
            .into_iter()
            .map(|(n, values)| {
                Ok(super::Attr {
                    name: name(n)?,
                    values,
                })
            })
            .collect::<Result<_, ImageError>>()?,
        members: e.members,
        member_of: e.member_of,
        children: e.children,
        password: e.password,
        read_scopes: e.read_scopes,
        deleted: e.deleted,
        last_known_parent: e.last_known_parent,
        attr_usns: e
            .attr_usns
            .into_iter()
            .map(|(n, usn)| Ok((name(n)?, usn)))
            .collect::<Result<_, ImageError>>()?,
        link_usns: e.link_usns,
    })
}

/// Indexes entries as they arrive. An entry is indexed once its parent is (its DN text
/// is its parent's plus its RDN); one whose parent comes later in the image, after a
/// move, waits until the end.
struct Linker {
    /// The entries the header announced.
    total: usize,
    indexed: Vec<bool>,
    waiting: Vec<EntryId>,
}

impl Linker {
    fn new(total: usize) -> Self {
        Linker {
            total,
            indexed: Vec::with_capacity(total.min(MAX_RESERVED)),
            waiting: Vec::new(),
        }
    }

    fn push(&mut self, dir: &mut Directory, e: Entry) {
        let id = EntryId(dir.entries.len() as u32);
        dir.entries.push(Arc::new(e));
        self.indexed.push(false);
        self.try_index(dir, id);
    }

    fn try_index(&mut self, dir: &mut Directory, id: EntryId) -> bool {
        let ready = match dir.entries[id.index()].parent {
            None => true,
            Some(p) => self.indexed.get(p.index()).copied().unwrap_or(false),
        };
        if ready {
            dir.index(id);
            self.indexed[id.index()] = true;
        } else {
            self.waiting.push(id);
        }
        ready
    }

    fn finish(mut self, dir: &mut Directory) -> Result<(), ImageError> {
        if dir.entries.len() != self.total {
            return Err(ImageError::Inconsistent(format!(
                "{} entries announced, {} read",
                self.total,
                dir.entries.len()
            )));
        }
        // Each pass indexes at least one waiting entry, or none ever will.
        while !self.waiting.is_empty() {
            let waiting = std::mem::take(&mut self.waiting);
            let before = waiting.len();
            for id in waiting {
                self.try_index(dir, id);
            }
            if self.waiting.len() == before {
                return Err(ImageError::Inconsistent(format!(
                    "entry {} has a parent chain that never reaches a naming-context head",
                    self.waiting[0].0
                )));
            }
        }
        Ok(())
    }
}

/// Every entry number the image holds names an entry, and children are their parent's.
fn check_ids(dir: &Directory) -> Result<(), ImageError> {
    let len = dir.entries.len();
    let bad = |what: &str, id: EntryId| {
        ImageError::Inconsistent(format!("{what} names entry {}, of {len}", id.0))
    };
    let known = |what: &str, id: EntryId| {
        if id.index() < len {
            Ok(())
        } else {
            Err(bad(what, id))
        }
    };
    for (i, e) in dir.entries.iter().enumerate() {
        for c in &e.children {
            known("a child", *c)?;
            if dir.entries[c.index()].parent != Some(EntryId(i as u32)) {
                return Err(bad("a child list", *c));
            }
        }
        let links = e.members.iter().chain(&e.member_of);
        let others = e.read_scopes.iter().flatten().chain(&e.last_known_parent);
        for id in links.chain(others).chain(e.link_usns.iter().map(|l| &l.0)) {
            known("a link", *id)?;
        }
    }
    let domains = dir
        .domains
        .iter()
        .flat_map(|d| [d.head, d.users, d.deleted_objects, d.foreign_principals]);
    let grants = dir.replication_grants.iter().flat_map(|(a, b)| [*a, *b]);
    let heads = dir
        .configuration
        .iter()
        .chain(&dir.schema)
        .chain(&dir.dns_zones)
        .copied();
    let suffixed = dir.head_suffix.keys().copied();
    let classes = dir.class_index.values().flat_map(|ids| ids.iter().copied());
    for id in domains
        .chain(grants)
        .chain(heads)
        .chain(suffixed)
        .chain(classes)
    {
        known("the forest", id)?;
    }
    Ok(())
}
