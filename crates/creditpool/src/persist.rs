//! A pool kept in a directory: `snapshot.json`, `ledger.jsonl` and `lock`, in
//! the same format as the Python package's `Pool(directory=...)`, so either
//! language can reopen what the other wrote.
//!
//! After every operation that may change the pool, its snapshot (which holds
//! the ledger entries not yet handed out) replaces `snapshot.json` atomically
//! (a temporary file unique to the writer, fsync, rename, fsync of the
//! directory); then the new ledger entries are appended to `ledger.jsonl` in
//! one write and synced, and only then acknowledged to the core pool
//! ([`Pool::ack_ledger`]): until written they stay in the pool and in every
//! snapshot of it. A write that fails is cut back to the file's previous
//! end, reported, and tried again before any newer snapshot is written, so the
//! snapshot on disk still lists those entries as pending: a crash loses
//! nothing. On reopening, a last line cut short by a crash is dropped, and the
//! file is checked against the snapshot by the core's rule
//! ([`check_ledger`](creditpool_core::pool::check_ledger)).
//!
//! A write that fails leaves the directory *unwritten* until a write
//! succeeds: by the core's rule
//! ([`PoolOp::applies_while_unwritten`](creditpool_core::pool::PoolOp::applies_while_unwritten))
//! the pool then refuses every operation but settles and releases.
//!
//! `journal.jsonl` ([`JOURNAL_FILE`]) is the Python pool's write-ahead journal
//! (its operations since its last snapshot; this crate writes none: it
//! rewrites the snapshot after every operation instead). A directory that a
//! Python pool left with a journal (it crashed, or it is open elsewhere: the
//! lock refuses that) is rebuilt by the core's
//! [`recover`](creditpool_core::pool::recovery::recover): the snapshot, then
//! the journal's operations after it, checked against the ledger file. The
//! rebuilt pool's snapshot is then written (after a marker naming it is
//! appended to the journal, so that a crash in between replays nothing
//! twice) and the journal removed.
//!
//! `deliveries.jsonl` ([`DELIVERIES_FILE`]) records, one synced line each,
//! which webhook has an outcome for which pending alert (the core's
//! [`Outbox`](creditpool_core::pool::outbox::Outbox)); on reopening it is
//! cut down to the alerts the snapshot still holds.

use crate::error::Error;
use creditpool_core::pool::outbox::{DeliveryRecord, DELIVERIES_FILE};
use creditpool_core::pool::recovery::{recover, snapshot_marker_line, JOURNAL_FILE};
use creditpool_core::pool::{check_ledger, LedgerEntry, Pool, PoolConfig};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The snapshot's file name in a pool's directory.
pub const SNAPSHOT_FILE: &str = "snapshot.json";
/// The ledger's file name (JSON Lines).
pub const LEDGER_FILE: &str = "ledger.jsonl";
/// The lock file, held by the pool that uses the directory.
pub const LOCK_FILE: &str = "lock";

static TMP_COUNTER: AtomicU64 = AtomicU64::new(1);

/// The files of one persisted pool, held (locked) by this process.
pub(crate) struct Directory {
    path: PathBuf,
    /// Held for the directory's life: closing it releases the lock.
    _lock: File,
    /// The last `seq` the ledger file holds.
    last_seq: u64,
    /// Entries handed out by the pool that the file does not hold yet (a
    /// failed write): written before anything newer.
    unwritten: Vec<LedgerEntry>,
    /// The last write failed (snapshot or ledger): nothing succeeded since.
    failed: bool,
    fsync: bool,
}

impl Directory {
    /// Opens (creating if needed) and locks a pool's directory, and the pool
    /// it holds: restored from its snapshot and checked against its ledger, or
    /// new with `config` when the directory is empty.
    pub(crate) fn open(path: &Path, config: PoolConfig, now_ms: u64) -> Result<(Directory, Pool), Error> {
        std::fs::create_dir_all(path).map_err(|e| Error::io(path, &e))?;
        let lock_path = path.join(LOCK_FILE);
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(|e| Error::io(&lock_path, &e))?;
        if lock.try_lock().is_err() {
            return Err(Error::Store { reason: format!("the pool's directory {} is held by another pool (its lock file is locked)", path.display()) });
        }
        let entries = read_ledger(&path.join(LEDGER_FILE))?;
        let snapshot_path = path.join(SNAPSHOT_FILE);
        let journal_path = path.join(JOURNAL_FILE);
        let journal = match std::fs::read(&journal_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&journal_path, &e)),
        };
        let pool = match std::fs::read_to_string(&snapshot_path) {
            Ok(text) => match &journal {
                Some(journal) => {
                    let rebuilt = recover(&text, journal, &entries)?;
                    // The rebuilt pool becomes the snapshot; the journal goes.
                    let snapshot = serde_json::to_string(&rebuilt.pool.snapshot()).map_err(|e| Error::Store { reason: format!("the pool's snapshot cannot be written as JSON: {e}") })?;
                    let mut j = OpenOptions::new().append(true).open(&journal_path).map_err(|e| Error::io(&journal_path, &e))?;
                    j.set_len(rebuilt.journal_len as u64).map_err(|e| Error::io(&journal_path, &e))?;
                    j.write_all(snapshot_marker_line(&snapshot).as_bytes()).and_then(|()| j.sync_all()).map_err(|e| Error::io(&journal_path, &e))?;
                    let mut dir = Directory { path: path.to_path_buf(), _lock: lock, last_seq: entries.len() as u64, unwritten: Vec::new(), failed: false, fsync: true };
                    dir.replace_snapshot(&snapshot)?;
                    std::fs::remove_file(&journal_path).map_err(|e| Error::io(&journal_path, &e))?;
                    File::open(path).and_then(|d| d.sync_all()).map_err(|e| Error::io(path, &e))?;
                    return Ok((dir, rebuilt.pool));
                }
                None => {
                    let pool = Pool::restore_json(&text)?;
                    check_ledger(&pool.snapshot(), &entries)?;
                    pool
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !entries.is_empty() {
                    return Err(creditpool_core::pool::PoolError::InvalidSnapshot { reason: format!("{} holds a ledger but no {SNAPSHOT_FILE}", path.display()) }.into());
                }
                Pool::new(config, now_ms)?
            }
            Err(e) => return Err(Error::io(&snapshot_path, &e)),
        };
        let dir = Directory { path: path.to_path_buf(), _lock: lock, last_seq: entries.len() as u64, unwritten: Vec::new(), failed: false, fsync: true };
        Ok((dir, pool))
    }

    /// Replaces `snapshot.json` with `text` atomically. Skipped (`Ok(false)`)
    /// while entries the pool handed out are not in the file yet: the
    /// snapshot on disk still lists them as pending.
    pub(crate) fn write_snapshot(&mut self, text: &str) -> Result<bool, Error> {
        if !self.unwritten.is_empty() {
            self.append(Vec::new())?;
        }
        let result = self.replace_snapshot(text);
        self.failed = result.is_err();
        result
    }

    /// Whether the last write failed (and none succeeded since).
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    fn replace_snapshot(&mut self, text: &str) -> Result<bool, Error> {
        let target = self.path.join(SNAPSHOT_FILE);
        let tmp = self.path.join(format!("{SNAPSHOT_FILE}.{}.{}.tmp", std::process::id(), TMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
        let written = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            if self.fsync {
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &target)?;
            if self.fsync {
                File::open(&self.path)?.sync_all()?;
            }
            Ok::<(), std::io::Error>(())
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&target, &e));
        }
        Ok(true)
    }

    /// Appends the entries the file does not hold yet (by `seq`), after any
    /// that an earlier write failed to add, in one write; a failed write is
    /// cut back to the file's previous end and kept for the next try.
    pub(crate) fn append(&mut self, entries: Vec<LedgerEntry>) -> Result<(), Error> {
        let last = self.last_seq;
        // The pool hands the same entries again until they are written.
        let held = self.unwritten.last().map_or(last, |e| e.seq);
        self.unwritten.extend(entries.into_iter().filter(|e| e.seq > held));
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let bytes: String = self.unwritten.iter().map(LedgerEntry::to_json_line).collect();
        let path = self.path.join(LEDGER_FILE);
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, &e))?;
        let start = file.seek(SeekFrom::End(0)).map_err(|e| Error::io(&path, &e))?;
        let written = file.write_all(bytes.as_bytes()).and_then(|()| if self.fsync { file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            let _ = file.set_len(start);
            self.failed = true;
            return Err(Error::io(&path, &e));
        }
        self.last_seq = self.unwritten.last().map_or(last, |e| e.seq);
        self.unwritten.clear();
        Ok(())
    }
}

impl Directory {
    /// The delivery records kept (see the module documentation).
    pub(crate) fn read_records(&self) -> Result<Vec<DeliveryRecord>, Error> {
        let path = self.path.join(DELIVERIES_FILE);
        let data = match read_regular(&path)? {
            Some(d) => d,
            None => return Ok(Vec::new()),
        };
        // A line cut short by a crash is a record not made: the delivery repeats.
        Ok(data.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
    }

    /// Replaces the records with `records` (atomically).
    pub(crate) fn rewrite_records(&self, records: &[DeliveryRecord]) -> Result<(), Error> {
        let target = self.path.join(DELIVERIES_FILE);
        let tmp = self.path.join(format!("{DELIVERIES_FILE}.{}.{}.tmp", std::process::id(), TMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
        let text: String = records.iter().map(DeliveryRecord::to_json_line).collect();
        let written = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            if self.fsync {
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &target)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(&target, &e)
        })
    }

    /// Appends one record and syncs it.
    pub(crate) fn record(&self, record: &DeliveryRecord) -> Result<(), Error> {
        let path = self.path.join(DELIVERIES_FILE);
        let mut file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| Error::io(&path, &e))?;
        file.write_all(record.to_json_line().as_bytes()).and_then(|()| if self.fsync { file.sync_data() } else { Ok(()) }).map_err(|e| Error::io(&path, &e))
    }
}

/// A file's bytes, `None` if it does not exist. Anything but a regular file
/// (a link to `/dev/zero`, a FIFO) is refused: reading it would not end.
fn read_regular(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, &e)),
    };
    let meta = f.metadata().map_err(|e| Error::io(path, &e))?;
    if !meta.is_file() {
        return Err(Error::Store { reason: format!("{} is not a regular file", path.display()) });
    }
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(|e| Error::io(path, &e))?;
    Ok(Some(data))
}

/// The ledger file's entries; a last line without its newline (a write cut by
/// a crash) is dropped from the file first. Any other line that is not a
/// ledger entry is an error.
fn read_ledger(path: &Path) -> Result<Vec<LedgerEntry>, Error> {
    let Some(mut data) = read_regular(path)? else { return Ok(Vec::new()) };
    let end = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if end != data.len() {
        OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(end as u64)).map_err(|e| Error::io(path, &e))?;
        data.truncate(end);
    }
    let mut entries = Vec::new();
    for (n, line) in data.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entry: LedgerEntry = serde_json::from_slice(line).map_err(|e| creditpool_core::pool::PoolError::InvalidSnapshot {
            reason: format!("{}: line {} is not a ledger entry ({e})", path.display(), n + 1),
        })?;
        entries.push(entry);
    }
    Ok(entries)
}
