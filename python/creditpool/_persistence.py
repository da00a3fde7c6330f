"""A pool's directory: ``snapshot.json``, ``journal.jsonl``, ``ledger.jsonl``
and the ``lock``: a write-ahead journal with periodic snapshots.

Every operation that can change the pool is appended to ``journal.jsonl``
(``JOURNAL_FILE``) as the core's own operation JSON (``PoolOp``), then the
ledger entries it made are appended to ``ledger.jsonl`` (the record: JSON
Lines, ``seq`` from 1 without gaps, format unchanged), each with one
``os.write`` of whole lines to a file the pool keeps open. With
``fsync=True`` an operation returns once an ``fsync`` of the journal covers
it, and threads share it (group commit: one ``fsync`` covers every operation
appended before it). The snapshot (``snapshot.json``) is rewritten now and
then: after ``DEFAULT_SNAPSHOT_EVERY_OPS`` operations or
``DEFAULT_SNAPSHOT_EVERY_MS`` ms (the core's defaults), and when the pool
closes: pending lines written and the ledger synced, the new snapshot's marker
appended to the journal, the snapshot replaced atomically (a temporary file
unique to the writer, fsync, rename, fsync of the directory), then a new
journal started with that marker alone (removed on close). On start the core
rebuilds the pool (``recovery::recover``): the snapshot, then the journal's
operations after the last marker naming it, replayed; the ledger file's lines
are checked against the rebuilt pool (``seq`` from 1 without gaps, equal to
the entries the replay made, summing to its settled) and the entries it lacks
are appended. A last line cut short by a crash (no newline) is dropped from
either file first. A write that fails (a full disk) is cut back to the file's
previous end and raised as ``PoolStoreError``: no file holds a line fused with
the next.

A write that fails leaves the pool *unwritten* until a write succeeds: by the
core's rule (``PoolOp::applies_while_unwritten``) the ``Pool`` then refuses
every operation but settles and releases, which are applied and raise the
write's error (spend that happened is never dropped).

``deliveries.jsonl`` (``DELIVERIES_FILE``) records, one synced line each,
which webhook has an outcome (delivered, or given up) for which pending
alert: the core's ``Outbox`` keeps an alert in the pool's snapshot until
every webhook has one, and after a crash the pending alerts go again to the
webhooks without a record, with the same idempotency key. On start it is cut
down to the alerts the snapshot still holds.

``ledger.jsonl`` and ``deliveries.jsonl`` must be regular files (a link to a
device such as ``/dev/zero`` would make reading them endless): anything else
raises ``PoolStoreError``.

The directory belongs to one ``PoolDirectory`` at a time (``flock`` on
``lock``), in the process that opened it: used after ``close()`` or from a
child after ``fork()``, it raises ``PoolStoreError``.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import stat
from pathlib import Path
from typing import Any, Iterator

from ._creditpool import DELIVERIES_FILE, JOURNAL_FILE, PoolError
from ._errors import snapshot_error, store_error
from ._views import LedgerEntry

try:
    import fcntl
except ImportError:  # not on Windows: the directory is then not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["SNAPSHOT_FILE", "LEDGER_FILE", "LOCK_FILE", "DELIVERIES_FILE", "JOURNAL_FILE", "PoolDirectory", "iter_ledger_file"]

SNAPSHOT_FILE = "snapshot.json"
"""The snapshot's file name in a pool's directory."""
LEDGER_FILE = "ledger.jsonl"
"""The ledger's file name in a pool's directory (JSON Lines)."""
LOCK_FILE = "lock"
"""Held (``flock``) by the ``Pool`` that uses the directory."""

_TMP_COUNTER = itertools.count(1)


class PoolDirectory:
    """The files of one persisted pool, held by this object (and process)."""

    def __init__(self, path: str | os.PathLike[str], fsync: bool = True) -> None:
        """Creates the directory if needed and takes its lock; raises
        ``PoolError`` when another ``Pool`` holds it."""
        self.path = Path(path)
        self.fsync = fsync
        self.pid = os.getpid()
        """The process that opened the directory: the only one that may write."""
        self._lock_file: Any = None
        self._closed = False
        # The journal and the ledger, kept open for appending, with the size
        # each had after its last whole write (a failed write is cut back to it).
        self._fds: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        self.path.mkdir(parents=True, exist_ok=True)
        if fcntl is not None:
            f = open(self.path / LOCK_FILE, "a+b")
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                raise PoolError(f"{self.path} is in use by another Pool (close it first)") from None
            self._lock_file = f

    @property
    def snapshot_path(self) -> Path:
        """``snapshot.json``."""
        return self.path / SNAPSHOT_FILE

    @property
    def ledger_path(self) -> Path:
        """``ledger.jsonl``."""
        return self.path / LEDGER_FILE

    def check(self) -> None:
        """Raises ``PoolStoreError`` if the directory was closed or this is
        not the process that opened it (a child after ``fork()``: its writes
        would interleave with the parent's)."""
        if self._closed:
            raise store_error(f"the pool's directory {self.path} was closed")
        if os.getpid() != self.pid:
            raise store_error(f"the pool's directory {self.path} belongs to process {self.pid} (this is {os.getpid()}, a child after fork()): open the pool again in this process")

    def read_snapshot(self) -> str | None:
        """The snapshot's text, or None if there is none."""
        try:
            return self.snapshot_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def has_ledger(self) -> bool:
        """Whether ``ledger.jsonl`` holds anything."""
        try:
            return self.ledger_path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def write_snapshot(self, text: str) -> None:
        """Replaces ``snapshot.json`` atomically; a temporary file unique to
        this writer (pid and counter), so that no two writers share one."""
        self.check()
        self._replace(self.snapshot_path, text.encode("utf-8"))

    def load_ledger(self) -> list[dict[str, Any]]:
        """The ledger's entries, checked: a last line cut short by a crash
        (no newline) is dropped from the file; any other line that is not
        whole JSON, or a ``seq`` that is not 1, 2, 3 ... raises
        ``PoolSnapshotError``."""
        path = self.ledger_path
        data = _read_regular(path)
        if data is None:
            return []
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with open(path, "r+b") as f:
                f.truncate(end)
            data = data[:end]
        entries: list[dict[str, Any]] = []
        for n, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                seq = int(entry["seq"])
            except (ValueError, KeyError, TypeError):
                raise snapshot_error(f"{path}: line {n} is not a ledger entry") from None
            if seq != len(entries) + 1:
                raise snapshot_error(f"{path}: line {n} has seq {seq}, expected {len(entries) + 1} (entries are missing or repeated)")
            entries.append(entry)
        return entries

    @property
    def deliveries_path(self) -> Path:
        """``deliveries.jsonl``."""
        return self.path / DELIVERIES_FILE

    def read_records(self) -> list[tuple[str, str]]:
        """The delivery records, ``(idempotency_key, webhook_id)``; a line
        cut short by a crash is a record not made (that delivery repeats)."""
        data = _read_regular(self.deliveries_path)
        out: list[tuple[str, str]] = []
        for raw in (data or b"").splitlines():
            try:
                r = json.loads(raw)
                out.append((str(r["idempotency_key"]), str(r["webhook"])))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def rewrite_records(self, lines: list[str]) -> None:
        """Replaces the delivery records with ``lines`` atomically."""
        self.check()
        self._replace(self.deliveries_path, "".join(lines).encode("utf-8"))

    def record(self, line: str) -> None:
        """Appends one delivery record and syncs it; ``PoolStoreError`` if
        that fails (the alert then stays pending)."""
        self.check()
        try:
            fd = os.open(self.deliveries_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise store_error(f"could not append to {self.deliveries_path}: {_os_reason(e)}") from None

    @property
    def journal_path(self) -> Path:
        """``journal.jsonl``."""
        return self.path / JOURNAL_FILE

    def read_journal(self) -> bytes:
        """The journal's bytes (empty when there is none)."""
        return _read_regular(self.journal_path) or b""

    def cut_journal(self, length: int) -> None:
        """Cuts the journal to its first ``length`` bytes (its whole lines)."""
        try:
            with open(self.journal_path, "r+b") as f:
                f.truncate(length)
        except OSError as e:
            raise store_error(f"could not write {self.journal_path}: {_os_reason(e)}") from None

    def _fd(self, name: str) -> int:
        fd = self._fds.get(name)
        if fd is None:
            path = self.path / name
            try:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self._sizes[name] = os.fstat(fd).st_size
            except OSError as e:
                if fd is not None:
                    os.close(fd)
                raise store_error(f"could not open {path}: {_os_reason(e)}") from None
            self._fds[name] = fd
        return fd

    def reopen(self) -> None:
        """Closes the files kept open: the next write opens them again."""
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds.clear()
        self._sizes.clear()

    def _append(self, name: str, data: bytes) -> None:
        """One ``os.write`` of whole lines; a failed or short write is cut
        back to the file's previous end and raised as ``PoolStoreError``."""
        fd = self._fds.get(name)
        if fd is None:
            fd = self._fd(name)
        try:
            n = os.write(fd, data)
            if n != len(data):
                raise OSError(errno.ENOSPC, f"short write ({n} of {len(data)} bytes)")
        except OSError as e:
            try:
                os.ftruncate(fd, self._sizes[name])
            except OSError:
                pass
            raise store_error(f"could not append to {self.path / name}: {_os_reason(e)}") from None
        self._sizes[name] += n

    def append_journal(self, data: bytes) -> None:
        """Appends journal lines (not synced: ``sync_journal``)."""
        self.check()
        self._append(JOURNAL_FILE, data)

    def append_ledger_lines(self, data: bytes) -> None:
        """Appends ledger lines (not synced: the journal can make them again
        until the next snapshot, which syncs them first); ``write_pending``
        calls it after its own check."""
        self._append(LEDGER_FILE, data)

    def write_pending(self, journal: bytes, ledger: bytes) -> bool:
        """Appends an operation batch: the journal's lines, then the ledger's
        (the ledger is never ahead of the journal), then syncs the journal
        (with ``fsync=True``). On ``PoolStoreError`` the exception's
        ``journal_written`` says whether the journal's lines are in (then
        they must not be written again). Returns True."""
        self.check()
        done = False
        try:
            if journal:
                self._append(JOURNAL_FILE, journal)
            done = True
            if ledger:
                self.append_ledger_lines(ledger)
            if journal and self.fsync:
                self._sync(JOURNAL_FILE)
        except BaseException as e:
            e.journal_written = done  # type: ignore[attr-defined]
            raise
        return True

    def _sync(self, name: str) -> None:
        fd = self._fds.get(name)
        if not self.fsync or fd is None:
            return
        try:
            os.fsync(fd)
        except OSError as e:
            raise store_error(f"could not sync {self.path / name}: {_os_reason(e)}") from None

    def sync_journal(self) -> None:
        """``fsync`` of the journal (with ``fsync=True``)."""
        self._sync(JOURNAL_FILE)

    def sync_ledger(self) -> None:
        """``fsync`` of the ledger (with ``fsync=True``)."""
        self._sync(LEDGER_FILE)

    def start_journal(self, marker: str | None) -> None:
        """Replaces the journal with one holding ``marker`` alone (the
        snapshot just written), atomically; ``None`` removes it."""
        self.check()
        fd = self._fds.pop(JOURNAL_FILE, None)
        if fd is not None:
            os.close(fd)
        if marker is None:
            try:
                self.journal_path.unlink()
            except FileNotFoundError:
                pass
            except OSError as e:
                raise store_error(f"could not remove {self.journal_path}: {_os_reason(e)}") from None
        else:
            self._replace(self.journal_path, marker.encode("utf-8"))
            return
        if self.fsync:
            _fsync_dir(self.path)

    def _replace(self, target: Path, data: bytes) -> None:
        """Replaces ``target`` with ``data`` atomically: a temporary file
        unique to this writer (pid and counter, so that no two writers share
        one), synced when ``fsync``, renamed, then the directory synced."""
        tmp = self.path / f"{target.name}.{os.getpid()}.{next(_TMP_COUNTER)}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as e:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise store_error(f"could not write {target}: {_os_reason(e)}") from None
        if self.fsync:
            _fsync_dir(self.path)

    def close(self) -> None:
        """Lets go of the directory (closing the file releases its flock)."""
        self._closed = True
        self.reopen()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _read_regular(path: Path) -> bytes | None:
    """A file's bytes, None if it does not exist; ``PoolStoreError`` for
    anything but a regular file (reading a device could not end)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise store_error(f"could not open {path}: {_os_reason(e)}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise store_error(f"{path} is not a regular file")
        return f.read()


def _os_reason(e: OSError) -> str:
    return os.strerror(e.errno) if e.errno else str(e)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def iter_ledger_file(directory: str | os.PathLike[str]) -> Iterator[LedgerEntry]:
    """The entries of a persisted pool's ``ledger.jsonl``, oldest first."""
    with open(Path(directory) / LEDGER_FILE, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield LedgerEntry(json.loads(line))
