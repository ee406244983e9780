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
    announce: bool = False
    """Print a line to stderr each time the served models change."""
