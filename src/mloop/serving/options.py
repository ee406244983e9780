"""How a scoring server is set up: plain values, so worker processes can receive them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServeOptions:
    source: str
    """A deployment name, or a model URI (``models:/...``, ``runs:/...``, a digest, a folder)."""
    uri: str | None = None
    """The metadata store (None: the workspace's)."""
    blobs: str | None = None
    project: str = "default"
    log_predictions: bool = True
    flush_rows: int = 10_000
    flush_seconds: float = 10.0
    poll_seconds: float = 1.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_rows: int = 10_000
    max_batch_rows: int = 256
    max_string_length: int = 65_536
    """Characters allowed in one string value (longer ones are refused, 422)."""
    journal: bool = True
    """Journal every scored batch before answering (see :mod:`mloop.serving.journal`)."""
    journal_dir: str | None = None
    """Where journals are kept (None: the workspace's, else the user's state folder)."""
    journal_sync_seconds: float = 0.05
    log_memory_bytes: int = 64 * 1024 * 1024
    """Buffered predictions held in memory; beyond it they wait in the journal."""
    header_timeout: float = 10.0
    """Seconds a connection has to send a request's headers before it is closed."""
    max_connections: int = 1000
    """Open connections; a connection over it is answered 503 and closed."""
    announce: bool = False
    """Print a line to stderr each time the served models change."""
