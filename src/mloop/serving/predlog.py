"""The prediction log's buffer: every scored batch journaled, held in memory up to a byte
budget, and written as segments (:mod:`mloop.serving.segments`) in the background.

A server writes each batch to its journal (:mod:`mloop.serving.journal`) before the
answers go out, then hands it to the buffer. Segments are written every ``flush_rows``
rows, every ``flush_seconds`` seconds and on close, on a background thread, so scoring
never waits for storage. The buffer keeps batches in memory up to ``memory_bytes``;
beyond that a batch is kept only in the journal and read back when it is written, so a
store that is down for an hour costs disk, not memory. A flush that fails (the store is
unreachable) leaves its rows where they are, counts the failure, and is retried
``flush_seconds`` later. Without a journal (batch scoring, ``--no-journal``) a batch over
the budget is dropped and counted.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mloop.errors import MloopError
from mloop.serving.journal import Journal, Place
from mloop.serving.ledger import Ledger
from mloop.serving.records import Answerer, Entry, Shadowed, decode, encode_entry, encode_failure
from mloop.serving.segments import Batch, LogWriter, segment_table
from mloop.store import Failure
from mloop.tracking.client import Client
from mloop.workspace import cache_root

__all__ = ["Entry", "PredictionLog", "Shadowed", "Ticket"]

logger = logging.getLogger("mloop.serving")
MIB = 1024 * 1024
CHUNK_BYTES = 16 * MIB
"""Journal bytes written as segments at a time (a flush reads no more than this back)."""
_FAILURE_BYTES = 256
"""A failed request's size in memory, without a journal to measure it."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """A batch's journal record: its sequence number, where it is, its size in bytes."""

    seq: int
    place: Place | None
    size: int


@dataclass(slots=True)
class _Held:
    ticket: Ticket
    rows: int
    item: Entry | Failure | None
    """None: only in the journal (it came over the memory budget)."""
    memory: int
    """Bytes it holds in memory, as counted against the budget."""
    shadow: Shadowed | None = None
    """The shadow's answers of a batch kept in the journal only (its record was written
    before the shadow ran; they are small: no inputs)."""


@dataclass
class PredictionLog:
    """Buffers entries and writes them as segments to ``client``'s blob and metadata stores."""

    client: Client
    flush_rows: int = 10_000
    flush_seconds: float = 10.0
    project: str = "default"
    memory_bytes: int = 64 * MIB
    recovery: Callable[[], bool] | None = None
    """Writes the journals of servers that died; True once none is left (retried before
    each flush until then)."""
    flush_failures: int = 0
    dropped_rows: int = 0
    journal: Journal | None = field(default=None, init=False)
    _writer: LogWriter = field(init=False)
    _held: dict[int, _Held] = field(default_factory=dict)
    _rows: int = 0
    _bytes: int = 0
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _journaling: threading.Lock = field(default_factory=threading.Lock)
    _flushing: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _warned: float = 0.0

    def __post_init__(self) -> None:
        self._writer = LogWriter(self.client, self.project, Ledger())

    def use_journal(self, journal: Journal) -> None:
        """Journal every batch from now on (call before the first one)."""
        self.journal = journal
        self._writer = LogWriter(self.client, self.project, journal.ledger)

    # -- taking batches (the scoring thread) ---------------------------------------------
    def record(self, entry: Entry, shadow: Answerer | None = None) -> Ticket:
        """Journal ``entry`` before its answers go out (``shadow``: the model that will
        shadow it, named in the record); hand it to :meth:`append` after."""
        return self._record(lambda seq: encode_entry(seq, entry, shadow))

    def append(self, entry: Entry, ticket: Ticket | None = None) -> None:
        """Buffer ``entry`` (journaled first, unless :meth:`record` did)."""
        ticket = ticket or self.record(entry)
        self._hold(ticket, entry, entry.rows, ticket.size or _estimate(entry))

    def fail(self, failure: Failure) -> None:
        """Keep a request the model could not score; written with the next flush."""
        ticket = self._record(lambda seq: encode_failure(seq, failure))
        self._hold(ticket, failure, 0, ticket.size or _FAILURE_BYTES)

    def _record(self, encode: Callable[[int], bytes]) -> Ticket:
        if self.journal is None:
            return Ticket(next(self._seq), None, 0)
        with self._journaling:  # records are in the files in sequence order
            seq = next(self._seq)
            payload = encode(seq)
            try:
                return Ticket(seq, self.journal.append(payload, seq), len(payload))
            except OSError as exc:  # a full disk must not fail the answers
                self._warn(f"the prediction journal could not be written: {exc}")
                return Ticket(seq, None, len(payload))

    def _hold(self, ticket: Ticket, item: Entry | Failure, rows: int, size: int) -> None:
        with self._lock:
            keep = self._bytes + size <= self.memory_bytes
            if keep or ticket.place is not None:
                memory = size if keep else 0
                shadow = None if keep or isinstance(item, Failure) else item.shadow
                self._held[ticket.seq] = _Held(ticket, rows, item if keep else None, memory, shadow)
                self._rows += rows
                self._bytes += memory
            else:
                self.dropped_rows += rows
            wake = not keep or self._rows >= self.flush_rows
        if not keep and ticket.place is None:
            self._warn(
                "the prediction log is over its memory budget and has no journal: "
                f"{self.dropped_rows} rows dropped so far"
            )
        if wake:
            self._wake.set()

    # -- what is waiting ------------------------------------------------------------------
    @property
    def buffered(self) -> int:
        """Rows answered and not yet written to a segment (in memory or in the journal)."""
        return self._rows

    @property
    def buffered_bytes(self) -> int:
        """Bytes of those rows held in memory."""
        return self._bytes

    # -- writing (the background thread) --------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="mloop-prediction-log", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        self._recover()
        pause = 0.0
        while not self._stop.is_set():
            if pause:  # the last flush failed: wait, however full the buffer is
                self._stop.wait(pause)
            else:
                self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._recover()
            try:
                self.flush()
                pause = 0.0
            except Exception as exc:  # kept; retried after a pause
                self.flush_failures += 1
                logger.warning("mloop: the prediction log could not be flushed: %s", exc)
                pause = self.flush_seconds

    def flush(self) -> int:
        """Write what is buffered as segments, a chunk at a time, and the failed requests;
        returns the rows written. At the first chunk that fails, the error is raised and
        what was not written stays buffered."""
        with self._flushing:
            self._forget(self._writer.confirm())
            if self.journal is not None:
                self.journal.roll()
            with self._lock:
                waiting = list(self._held.values())
            written = 0
            for chunk in _chunks(waiting):
                batch, failures = self._load(chunk)
                written += self._writer.write(batch, self._forget)
                self._writer.write_failures(failures)
                self._forget([seq for seq, _ in failures])
            return written

    def _load(self, chunk: Sequence[_Held]) -> tuple[Batch, list[tuple[int, Failure]]]:
        """The chunk's batches and failures, those over the budget read from the journal;
        a record that cannot be read back (the disk altered it) is dropped and counted."""
        spilled = [held for held in chunk if held.item is None]
        read: dict[int, Entry | Failure] = {}
        if spilled:
            assert self.journal is not None
            places = [held.ticket.place for held in spilled if held.ticket.place is not None]
            for held, payload in zip(spilled, self.journal.read(places), strict=True):
                item = None if payload is None else decode(payload)[1]
                if isinstance(item, Entry) and held.shadow is not None:
                    item.shadow = held.shadow
                if item is not None:
                    read[held.ticket.seq] = item
        lost = [held for held in spilled if held.ticket.seq not in read]
        if lost:
            self.dropped_rows += sum(held.rows for held in lost)
            logger.error(
                "mloop: %d records of the prediction journal %s were altered on disk: "
                "%d answered rows cannot be logged",
                len(lost),
                None if self.journal is None else self.journal.folder,
                sum(held.rows for held in lost),
            )
            self._forget([held.ticket.seq for held in lost])
        batch: Batch = []
        failures: list[tuple[int, Failure]] = []
        for held in chunk:
            item = held.item or read.get(held.ticket.seq)
            if isinstance(item, Failure):
                failures.append((held.ticket.seq, item))
            elif item is not None:
                batch.append((held.ticket.seq, item))
        return batch, failures

    def _forget(self, seqs: Sequence[int] | set[int]) -> None:
        places: list[Place] = []
        with self._lock:
            for seq in seqs:
                held = self._held.pop(seq, None)
                if held is None:
                    continue
                self._rows -= held.rows
                self._bytes -= held.memory
                if held.ticket.place is not None:
                    places.append(held.ticket.place)
        if self.journal is not None and places:
            self.journal.done(places)

    def _recover(self) -> None:
        if self.recovery is None:
            return
        try:
            if self.recovery():
                self.recovery = None
        except Exception as exc:  # the store is away: tried again before the next flush
            logger.warning("mloop: journals of stopped servers not written yet: %s", exc)

    # -- stopping -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the background flusher and write everything still buffered. What cannot be
        written (the stores are unreachable) stays in the journal, for the next server of
        this source or ``mloop predictions recover``; without a journal it is kept as
        Parquet files in the local cache. Either way the log says where."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            self.flush()
        except Exception as exc:
            self.flush_failures += 1
            self._keep(exc)
        finally:
            if self.journal is not None:
                self.journal.close()

    def _keep(self, error: Exception) -> None:
        if self.journal is not None:
            logger.error(
                "mloop: %d logged predictions could not be stored (%s); they are kept in the "
                "journal %s, written by the next server of this source or by "
                "`mloop predictions recover`",
                self._rows,
                error,
                self.journal.folder,
            )
            return
        with self._lock:
            left = [h.item for h in self._held.values() if isinstance(h.item, Entry)]
            self._held, self._rows, self._bytes = {}, 0, 0
        where = self._spill(left)
        logger.error(
            "mloop: %d logged predictions could not be stored (%s); kept in %s",
            sum(e.rows for e in left),
            error,
            where,
        )

    def _spill(self, entries: Sequence[Entry]) -> Path:
        import pyarrow.parquet as pq

        try:
            workspace = self.client.settings.workspace
        except MloopError:
            workspace = None
        folder = cache_root(workspace) / "unstored-predictions"
        folder.mkdir(parents=True, exist_ok=True)
        groups: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            groups[entry.served.label].append(entry)
        for group in groups.values():
            pq.write_table(segment_table(group), folder / f"{uuid.uuid4().hex}.parquet")
        return folder

    def _warn(self, message: str) -> None:
        """Log ``message`` at most once a minute (it comes with every batch while it lasts)."""
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            logger.error("mloop: %s", message)


def _chunks(waiting: Sequence[_Held]) -> list[list[_Held]]:
    chunks: list[list[_Held]] = [[]]
    size = 0
    for held in waiting:
        if chunks[-1] and size >= CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(held)
        size += held.ticket.size
    return [chunk for chunk in chunks if chunk]


def _estimate(entry: Entry) -> int:
    """An entry's bytes in memory, when no journal record measured it."""
    scores = entry.scores
    outputs = scores.predictions.nbytes + (0 if scores.proba is None else scores.proba.nbytes)
    if entry.float_inputs:
        return int(entry.inputs.values.nbytes) + outputs
    return int(entry.inputs.memory_usage(index=False, deep=True).sum()) + outputs
