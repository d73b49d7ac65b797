//! `fake-dc import FILE.ldif`: LDIF entries into a fixture, read as a stream.

use std::io::{BufReader, Read};
use std::path::Path;

use super::ldif_read::{LdifError, Reader};
use super::{Collected, Collector};

/// Counts the bytes read, for a progress bar over the file's size.
struct Counting<R> {
    inner: R,
    read: u64,
    on_progress: Box<dyn FnMut(u64)>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.on_progress)(self.read);
        Ok(n)
    }
}

/// What an import reports as it goes: bytes read of the total.
pub trait Progress {
    fn start(&mut self, total_bytes: u64);
    fn advance(&mut self, bytes_read: u64);
    fn finish(&mut self);
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// Reads an LDIF file into a fixture. `default_password` becomes the fixture's
/// `defaultPassword` (LDIF carries no usable password).
pub fn import_file(
    path: &Path,
    default_password: Option<String>,
    progress: impl Progress + 'static,
) -> Result<Collected, LdifError> {
    let file_name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| LdifError::Io {
        file: file_name.clone(),
        source,
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = std::rc::Rc::new(std::cell::RefCell::new(progress));
    progress.borrow_mut().start(total);
    let p = progress.clone();
    let counting = Counting {
        inner: file,
        read: 0,
        on_progress: Box::new(move |n| p.borrow_mut().advance(n)),
    };
    let reader = Reader::new(BufReader::with_capacity(1 << 20, counting), file_name);
    let collected = import(reader)?;
    progress.borrow_mut().finish();
    Ok(collected.finish(default_password))
}

/// Reads every record of an LDIF stream into a collector.
pub fn import<R: std::io::BufRead>(reader: Reader<R>) -> Result<Collector, LdifError> {
    let mut collector = Collector::new();
    for record in reader {
        let record = record?;
        collector.add(&record.dn, record.attrs);
    }
    Ok(collector)
}
