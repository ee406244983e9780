"""Which journal records went to the prediction log, so that none is logged twice.

Writing rows to the log is two steps in two stores (the segment's blob, then its index
row), and a process can die between any two. So before a segment is indexed, an
*intent* names it (its digest, the journal records it holds, where to look for it) and
after, a *done* line confirms it. An intent left without its done line is checked
against the store by whoever goes on (the same server at its next flush, or the one
that replays the journal): found, its records count as logged; not found, they are
written again. Requests a model could not score are kept the same way, by request id.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True, slots=True, kw_only=True)
class Intent:
    """A write to the log about to happen: where to find it if it did."""

    key: str
    """The segment's digest, or ``failures-<first seq>`` for a batch of failed requests."""
    seqs: tuple[int, ...]
    deployment: str | None
    start: int
    end: int
    request_ids: tuple[str, ...] = ()
    """For failed requests: their ids (a segment is found by its digest)."""

    @property
    def is_segment(self) -> bool:
        return not self.key.startswith("failures-")


@dataclass
class Ledger:
    """The intents and done lines of one journal (kept in memory only without a file)."""

    path: Path | None = None
    _intents: dict[str, Intent] = field(default_factory=dict)
    _done: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        for line in self.path.read_bytes().splitlines():
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # the last line, torn by a crash
            if "done" in item:
                self._done.add(item["done"])
            else:
                intent = _intent(item)
                self._intents[intent.key] = intent

    def intend(self, intent: Intent) -> None:
        """Record ``intent`` on disk (synced) before the write it announces."""
        with self._lock:
            self._intents[intent.key] = intent
            self._done.discard(intent.key)
            self._append(_line(intent), sync=True)

    def confirm(self, key: str) -> None:
        with self._lock:
            self._done.add(key)
            self._append(orjson.dumps({"done": key}) + b"\n", sync=False)

    def forget(self, key: str) -> None:
        """The intent's write did not happen (it was checked): its records are not logged."""
        with self._lock:
            self._intents.pop(key, None)

    def unconfirmed(self) -> list[Intent]:
        with self._lock:
            return [i for key, i in self._intents.items() if key not in self._done]

    def logged(self) -> set[int]:
        """The sequence numbers of records confirmed to be in the log."""
        with self._lock:
            return {s for key, i in self._intents.items() if key in self._done for s in i.seqs}

    def compact(self, keep_from: int) -> None:
        """Drop what concerns only records before ``keep_from`` (their files are gone)."""
        with self._lock:
            kept = {k: i for k, i in self._intents.items() if i.seqs and max(i.seqs) >= keep_from}
            if len(kept) == len(self._intents):
                return
            self._intents = kept
            self._done &= set(kept)
            if self.path is None:
                return
            data = b"".join(_line(i) for i in kept.values())
            data += b"".join(orjson.dumps({"done": key}) + b"\n" for key in self._done)
            temporary = self.path.with_name(f".{self.path.name}.tmp")
            temporary.write_bytes(data)
            with open(temporary, "rb+") as file:
                os.fsync(file.fileno())
            os.replace(temporary, self.path)

    def _append(self, line: bytes, *, sync: bool) -> None:
        if self.path is None:
            return
        with open(self.path, "ab") as file:
            file.write(line)
            if sync:
                file.flush()
                os.fsync(file.fileno())


def ranges(seqs: Iterable[int]) -> list[list[int]]:
    """Sorted numbers as [first, last] runs: 1 2 3 7 → [[1, 3], [7, 7]]."""
    out: list[list[int]] = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def _line(intent: Intent) -> bytes:
    item = {
        "intent": intent.key,
        "seqs": ranges(intent.seqs),
        "deployment": intent.deployment,
        "start": intent.start,
        "end": intent.end,
        "request_ids": intent.request_ids,
    }
    return orjson.dumps(item) + b"\n"


def _intent(item: dict[str, Any]) -> Intent:
    return Intent(
        key=item["intent"],
        seqs=tuple(s for first, last in item["seqs"] for s in range(first, last + 1)),
        deployment=item["deployment"],
        start=item["start"],
        end=item["end"],
        request_ids=tuple(item["request_ids"]),
    )
