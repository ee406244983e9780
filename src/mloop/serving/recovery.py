"""Where journals live, and writing the journals of servers that died to the log.

Journals are kept on local disk, whatever the stores are (a remote database, S3)::

    <root>/<source>-<key>/<server>/...

``root`` is ``--journal DIR``, else the workspace's ``.mloop/journal``, else
``$XDG_STATE_HOME/mloop/journal`` (``~/.local/state/mloop/journal``). ``key`` is a
hash of the metadata store, project and source, so replicas of one deployment on one
host share a ``<source>-<key>`` folder (each has its own ``<server>`` folder in it)
and the same deployment name served against another store is another folder.

When a server starts, it writes the journals of that folder whose servers are gone
(their lock is free) to the log, then deletes them; ``mloop predictions recover`` does
the same for every journal of a store, e.g. when the deployment is not served again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mloop.config import hide_password
from mloop.errors import InvalidArgument
from mloop.serving.journal import Journal
from mloop.serving.predlog import CHUNK_BYTES
from mloop.serving.records import decode
from mloop.serving.segments import Batch, LogWriter
from mloop.store import Failure
from mloop.tracking.client import Client
from mloop.workspace import DIRNAME

logger = logging.getLogger("mloop.serving")


def journal_root(explicit: str | os.PathLike[str] | None, workspace: Path | None) -> Path:
    """Where journals are kept (see the module's documentation)."""
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    if workspace is not None:
        return workspace / DIRNAME / "journal"
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "mloop" / "journal"


def source_name(source: str) -> str:
    """How journals name a source: a package folder by its absolute path, however given."""
    return str(Path(source).resolve()) if Path(source).is_dir() else source


def source_folder(root: Path, uri: str, project: str, source: str) -> Path:
    """The folder of the journals of the servers of ``source`` on store ``uri``."""
    key = hashlib.sha256(f"{uri}\0{project}\0{source}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._@-]+", "_", source).strip("_.")[:48] or "source"
    return root / f"{slug}-{key}"


def open_journal(
    client: Client, root: Path, project: str, source: str, sync_seconds: float = 0.05
) -> Journal:
    """A new journal for a server of ``source``, locked by this process and syncing."""
    uri = client.settings.uri
    meta = {"source": source, "project": project, "store": hide_password(uri)}
    try:
        journal = Journal.create(source_folder(root, uri, project, source), meta, sync_seconds)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot keep the prediction journal in {root}: {exc.strerror or exc}; give a "
            "writable local folder (--journal DIR), or turn the journal off (--no-journal)"
        ) from None
    journal.start()
    return journal


@dataclass(frozen=True, slots=True)
class Replayed:
    """What was written from one journal (or why it could not be)."""

    folder: Path
    source: str
    rows: int
    failures: int
    error: str | None = None


def replay(journal: Journal, client: Client) -> Replayed:
    """Write every record of ``journal`` that is not in the log yet, then delete it. On an
    error the journal is kept (and released) for a later try."""
    meta = journal.meta()
    writer = LogWriter(client, meta["project"], journal.ledger)
    rows = failed = 0
    try:
        logged = writer.confirm() | journal.ledger.logged()
        batch: Batch = []
        failures: list[tuple[int, Failure]] = []
        size = 0
        for _, payload in journal.records():
            seq, item = decode(payload)
            if seq in logged:
                continue
            if isinstance(item, Failure):
                failures.append((seq, item))
                continue
            batch.append((seq, item))
            size += len(payload)
            if size >= CHUNK_BYTES:
                rows += writer.write(batch, lambda seqs: None)
                batch, size = [], 0
        rows += writer.write(batch, lambda seqs: None)
        writer.write_failures(failures)
        failed = len(failures)
    except Exception as exc:
        journal.close()
        return Replayed(
            journal.folder, meta["source"], rows, failed, f"{type(exc).__name__}: {exc}"
        )
    journal.remove()
    journal.close()
    return Replayed(journal.folder, meta["source"], rows, failed)


def recover_source(client: Client, folder: Path) -> list[Replayed]:
    """Write the journals in ``folder`` (one source's) whose servers are gone."""
    done = []
    for server in sorted(folder.iterdir()) if folder.is_dir() else []:
        if server.name.startswith("."):  # being made, or its maker was killed
            Journal.discard_unfinished(server)
            continue
        journal = Journal.claim(server)
        if journal is None:  # its server is running (or another one took it)
            continue
        replayed = replay(journal, client)
        if replayed.error is None:
            logger.warning(
                "mloop: wrote %d predictions and %d failed requests that a stopped server "
                "of %s had not written to the log",
                replayed.rows,
                replayed.failures,
                replayed.source,
            )
        else:
            logger.warning(
                "mloop: the journal %s of a stopped server was not written to the log yet: %s",
                replayed.folder,
                replayed.error,
            )
        done.append(replayed)
    return done


def recover(client: Client, root: Path, source: str | None = None) -> tuple[list[Replayed], int]:
    """Write the journals of stopped servers of ``client``'s store (of ``source`` only,
    when given); also says how many journals under ``root`` belong to other stores."""
    done: list[Replayed] = []
    others = 0
    uri = client.settings.uri
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        meta = _any_meta(folder)
        if meta is None:
            continue
        if source_folder(root, uri, meta["project"], meta["source"]) != folder:
            others += 1
        elif source is None or meta["source"] == source_name(source):
            done.extend(recover_source(client, folder))
    return done, others


def _any_meta(folder: Path) -> dict[str, str] | None:
    """The meta data of some journal in a source's folder (they all name the same source)."""
    import orjson

    for meta in folder.glob("[!.]*/meta.json"):
        try:
            data: dict[str, str] = orjson.loads(meta.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        return data
    return None
