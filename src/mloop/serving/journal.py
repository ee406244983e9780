"""A scoring server's local journal: its scored batches on disk before their answers go out.

One server (one process) owns one folder, locked for as long as it runs::

    <root>/<source key>/<server>/lock          flock'ed by the owner; free once it died
                                 meta.json     source, project, store, pid, host, start
                                 <n>.log       records, in files numbered 1, 2, ...
                                 ledger.jsonl  which records were stored as which segment

A record is framed as ``u32 length | u32 crc32 | payload`` and written with one
``write`` before the answers of its batch are sent: a SIGKILL loses nothing that was
answered. A background thread ``fdatasync``s the file every ``sync_seconds`` (50 ms),
so a power loss or a kernel crash loses at most that much. A torn record at the end of a
file (the process died while writing it, before its answer) ends that file's records.

Files roll over at every flush and at 64 MiB; a file is deleted once all its records
are in the prediction log. The ledger makes writing them to the log idempotent: before a
segment is indexed, its digest and the sequence numbers it holds are written (an
*intent*); after, a *done* line. Whoever replays a journal checks each intent without a
done line against the store, so a crash between "segment stored" and "done" never logs
the rows twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import shutil
import socket
import struct
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from mloop.serving.ledger import Ledger

logger = logging.getLogger("mloop.serving")
_FRAME = struct.Struct("<II")
ROLL_BYTES = 64 * 1024 * 1024
META = "meta.json"
LOCK = "lock"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a record is: its file's number, offset and payload length."""

    file: int
    offset: int
    length: int


class Journal:
    """The record files, lock and ledger of one server's journal folder."""

    def __init__(self, folder: Path, lock: int, sync_seconds: float = 0.05) -> None:
        self.folder = folder
        self.ledger = Ledger(folder / "ledger.jsonl")
        self.sync_seconds = sync_seconds
        self._lock_fd = lock
        self._write = threading.Lock()
        self._sync = threading.Lock()
        self._fd: int | None = None
        self._file = 0
        self._size = 0
        self._dirty = False
        self._retired: list[int] = []
        """Descriptors of finished files, synced and closed by the syncer."""
        self._new_file = False
        self._outstanding: dict[int, int] = {}
        """Records per file not yet in the log (a file is deleted when it reaches 0)."""
        self._first_seq: dict[int, int] = {}
        self._bytes = 0
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    # -- owning a folder ------------------------------------------------------------------
    @classmethod
    def create(cls, parent: Path, meta: dict[str, Any], sync_seconds: float = 0.05) -> Journal:
        """A new journal folder under ``parent``, locked by this process. It is built under
        a hidden name and renamed into place, so nobody sees it half made."""
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        building = parent / f".{name}"
        building.mkdir(parents=True)
        lock = os.open(building / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        meta = {**meta, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        (building / META).write_bytes(orjson.dumps(meta))
        os.rename(building, parent / name)
        _sync_folder(parent)
        journal = cls(parent / name, lock, sync_seconds)
        journal.ledger.load()
        return journal

    @classmethod
    def claim(cls, folder: Path) -> Journal | None:
        """The journal in ``folder`` if its server is gone (its lock is free), now locked by
        this process; None while its server runs, or when someone else took it first."""
        try:
            lock = os.open(folder / LOCK, os.O_RDWR)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            return None
        if not (folder / META).is_file():  # replayed and removed meanwhile
            os.close(lock)
            return None
        journal = cls(folder, lock)
        journal.ledger.load()
        return journal

    @staticmethod
    def discard_unfinished(folder: Path, min_age: float = 60.0) -> None:
        """Delete a hidden folder a server was killed making (it never held a record)."""
        try:
            if time.time() - folder.stat().st_mtime < min_age:
                return
            lock = os.open(folder / LOCK, os.O_RDWR)
        except FileNotFoundError:
            shutil.rmtree(folder, ignore_errors=True)
            return
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        finally:
            os.close(lock)
        shutil.rmtree(folder, ignore_errors=True)

    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads((self.folder / META).read_bytes())
        return data

    def start(self) -> None:
        """Start the background thread that syncs written records to disk."""
        self._syncer = threading.Thread(target=self._sync_loop, name="mloop-journal", daemon=True)
        self._syncer.start()

    # -- writing --------------------------------------------------------------------------
    def append(self, payload: bytes, seq: int) -> Place:
        """Write one record (``seq``: its sequence number, increasing); where it is. Only a
        ``write``: syncing is the background thread's."""
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        with self._write:
            if self._fd is None or self._size >= ROLL_BYTES:
                self._retire()
                self._open()
                self._first_seq[self._file] = seq
            assert self._fd is not None
            offset = self._size
            try:
                _write_all(self._fd, frame)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, offset)  # no torn record before the next ones
                raise
            self._size += len(frame)
            self._bytes += len(frame)
            self._outstanding[self._file] = self._outstanding.get(self._file, 0) + 1
            self._dirty = True
            return Place(self._file, offset + _FRAME.size, len(payload))

    def roll(self) -> None:
        """Start a new file at the next record (the current one can go once it is logged)."""
        with self._write:
            self._retire()
        self._delete_logged()

    def done(self, places: list[Place]) -> None:
        """These records are in the log: files with nothing else outstanding are deleted."""
        with self._write:
            for place in places:
                if place.file in self._outstanding:
                    self._outstanding[place.file] -= 1
        self._delete_logged()

    @property
    def size(self) -> int:
        """Bytes in the journal's files."""
        return self._bytes

    @property
    def outstanding(self) -> int:
        return sum(self._outstanding.values())

    # -- reading --------------------------------------------------------------------------
    def read(self, places: Sequence[Place]) -> Iterator[bytes | None]:
        """The records at ``places``, in order (None for one that is torn, altered or gone)."""
        for number, group in itertools.groupby(places, key=lambda place: place.file):
            path = self.folder / _name(number)
            if not path.is_file():
                yield from (None for _ in group)
                continue
            with open(path, "rb") as file:
                for place in group:
                    file.seek(place.offset - _FRAME.size)
                    payload, _ = _read_frame(file)
                    yield payload

    def files(self) -> list[int]:
        """The record files' numbers, oldest first."""
        found = []
        for path in self.folder.glob("*.log"):
            with contextlib.suppress(ValueError):
                found.append(int(path.stem))
        return sorted(found)

    def records(self) -> Iterator[tuple[Place, bytes]]:
        """Every whole record, oldest first. A record whose bytes were altered is skipped; a
        torn one (the process died writing it, before its answers) ends its file."""
        for number in self.files():
            with open(self.folder / _name(number), "rb") as file:
                while True:
                    offset = file.tell()
                    payload, more = _read_frame(file)
                    if payload is not None:
                        yield Place(number, offset + _FRAME.size, len(payload)), payload
                    elif more:
                        logger.error(
                            "mloop: record at byte %d of the prediction journal %s was "
                            "altered on disk; it is skipped",
                            offset,
                            file.name,
                        )
                    if not more:
                        break

    # -- ending -----------------------------------------------------------------------------
    def close(self) -> bool:
        """Stop syncing and release the lock. The folder is removed when everything in it is
        in the log (True); otherwise it stays for the next server or ``recover``."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join()
        with self._write:
            self._retire()
        self._sync_now()
        empty = self.outstanding == 0
        if empty:
            self.remove()
        os.close(self._lock_fd)
        return empty

    def remove(self) -> None:
        """Delete the folder (its records are all in the log), still holding its lock."""
        (self.folder / META).unlink(missing_ok=True)  # a late claimer sees it gone
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.parent.rmdir()  # the source's folder, when it was the last one

    # -- inside -----------------------------------------------------------------------------
    def _open(self) -> None:
        self._file += 1
        self._size = 0
        self._fd = os.open(
            self.folder / _name(self._file),
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND,
            0o600,
        )
        self._new_file = True

    def _retire(self) -> None:
        """Finish the current file (under the write lock): the syncer syncs and closes it."""
        if self._fd is not None:
            self._retired.append(self._fd)
            self._fd = None

    def _delete_logged(self) -> None:
        with self._write:
            gone = [
                file
                for file, count in self._outstanding.items()
                if count <= 0 and not (self._fd is not None and file == self._file)
            ]
            for file in gone:
                del self._outstanding[file]
                del self._first_seq[file]
            oldest = min(self._first_seq.values(), default=None)
        for file in gone:
            path = self.folder / _name(file)
            with contextlib.suppress(FileNotFoundError):
                size = path.stat().st_size
                path.unlink()
                self._bytes -= size
        if gone:  # no file left: no record the ledger could speak of
            self.ledger.compact(sys.maxsize if oldest is None else oldest)

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_seconds):
            try:
                self._sync_now()
            except OSError as exc:
                logger.error("mloop: the prediction journal could not be synced: %s", exc)

    def _sync_now(self) -> None:
        """Sync what was written since the last time, to the disk itself."""
        with self._sync:
            with self._write:
                retired, self._retired = self._retired, []
                fd, dirty, new_file = self._fd, self._dirty, self._new_file
                self._dirty = self._new_file = False
            for old in retired:  # only the syncer closes descriptors: ``fd`` stays valid
                _datasync(old)
                os.close(old)
            if new_file:
                _sync_folder(self.folder)
            if fd is not None and dirty:
                _datasync(fd)


def _name(number: int) -> str:
    return f"{number:06d}.log"


def _read_frame(file: Any) -> tuple[bytes | None, bool]:
    """The record at the file's position (None if it was altered) and whether more may
    follow (False at the end of the file, or at a torn record)."""
    head = file.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None, False
    length, crc = _FRAME.unpack(head)
    payload: bytes = file.read(length)
    if len(payload) < length:
        return None, False
    return (payload if zlib.crc32(payload) == crc else None), True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _datasync(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _sync_folder(folder: Path) -> None:
    """Make a new or renamed entry of ``folder`` survive a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
