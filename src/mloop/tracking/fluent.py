"""The fluent API: ``with mloop.start_run(): mloop.log_metric(...)``.

A thin facade over :class:`~mloop.tracking.client.Client`. The active run lives
in a ``contextvars`` variable (so threads and asyncio tasks each see their own);
a run started while another is active is its child. No ``log_*`` call starts a
run by itself: without an active run it is an error.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from mloop.config import resolve_settings
from mloop.errors import InvalidArgument
from mloop.store.entities import ArtifactEntry, Experiment, Run, RunStatus
from mloop.tracking import signals
from mloop.tracking.active import ActiveRun
from mloop.tracking.client import Client

_active: ContextVar[ActiveRun | None] = ContextVar("mloop_active_run", default=None)
# Open runs by id, with the token that makes the run's parent active again.
_open: dict[str, tuple[ActiveRun, Token[ActiveRun | None]]] = {}
_defaults: dict[tuple[str, str | None], Client] = {}
_lock = threading.Lock()


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    client: Client | None = None,
    capture_env: bool = True,
) -> ActiveRun:
    """Start a run and make it the active one; use it as a context manager.

    Inside another active run, the new run is its child. ``client`` defaults to
    one for the current workspace (or ``MLOOP_URI``).
    """
    parent = _active.get()
    if client is None:
        client = parent.client if parent is not None else default_client()
    target: str | Experiment | None = experiment
    if experiment is None and parent is not None:  # a child belongs with its parent
        target = client.store.experiments.get(parent.run.experiment_id)
    run = client.create_run(
        target,
        name=name,
        parent_id=parent.id if parent is not None else None,
        tags=tags,
        capture_env=capture_env,
    )
    active = ActiveRun(client, run, on_end=_forget)
    signals.install()
    _open[run.id] = (active, _active.set(active))
    return active


@contextmanager
def activated(client: Client, run: Run) -> Iterator[ActiveRun]:
    """Make an existing run the active one for a block, without ending it (a pipeline
    step's code logs to its step run and reads data through its client)."""
    active = ActiveRun(client, run)
    token = _active.set(active)
    raised = True
    try:
        yield active
        raised = False
    finally:
        _active.reset(token)
        try:
            active.detach()
        except Exception:
            if not raised:  # else the block's own error is the one to see
                raise


def active_run() -> ActiveRun | None:
    """The run that ``log_*`` calls go to, if any."""
    return _active.get()


def end_run(status: RunStatus = RunStatus.FINISHED) -> None:
    """End the active run (for code that does not use ``with``)."""
    _require().end(status)


def _forget(run: ActiveRun) -> None:
    """Called when ``run`` ends: its parent (if any) becomes the active run again."""
    _, token = _open.pop(run.id, (None, None))
    if not _open:
        signals.uninstall()
    if token is not None:
        try:
            _active.reset(token)
        except ValueError:  # ended from another context: just clear it there
            _active.set(None)


def log_param(key: str, value: Any) -> None:
    _require().log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    _require().log_params(params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    run = _active.get()
    if run is None:
        _require()
    else:
        run.log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _require().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    _require().set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    _require().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> ArtifactEntry:
    return _require().log_artifact(local_path, artifact_path)


def log_dict(data: Mapping[str, Any], artifact_path: str) -> ArtifactEntry:
    return _require().log_dict(data, artifact_path)


def log_figure(figure: Any, artifact_path: str) -> ArtifactEntry:
    """Store a matplotlib figure as an image; the format follows the extension (.png, .svg, ...)."""
    import io

    run = _require()
    suffix = Path(artifact_path).suffix.lstrip(".") or "png"
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format=suffix)
    except AttributeError:
        raise InvalidArgument(
            f"log_figure expects a matplotlib Figure, got {type(figure).__name__}"
        ) from None
    return run.client.log_bytes(run.id, buffer.getvalue(), artifact_path)


def default_client() -> Client:
    """The client the fluent API uses when none is given: one per resolved store and blob root."""
    settings = resolve_settings()
    return client_for(settings.uri, settings.blobs)


def client_for(uri: str, blobs: str | None) -> Client:
    """The one client of this process for a store and blob root (workers reuse it)."""
    key = (uri, blobs)
    with _lock:
        if key not in _defaults:
            _defaults[key] = Client(uri, blobs=blobs)
        return _defaults[key]


def _require() -> ActiveRun:
    run = _active.get()
    if run is None:
        raise InvalidArgument(
            "no active run: wrap the code in `with mloop.start_run():` (log calls never start one)"
        )
    return run


@atexit.register
def _end_open_runs() -> None:
    """At interpreter exit, write buffered metrics and end runs left open.

    The status follows how the program ended: an uncaught exception is FAILED,
    Ctrl-C is KILLED, anything else FINISHED.
    """
    # In an interactive session, an earlier exception says nothing about the run.
    last = None if hasattr(sys, "ps1") else getattr(sys, "last_value", None)
    status = RunStatus.FINISHED
    if isinstance(last, KeyboardInterrupt) or signals.terminated():
        status = RunStatus.KILLED
    elif last is not None:
        status = RunStatus.FAILED
    for run, _ in reversed(list(_open.values())):
        try:
            run.end(status)
        except Exception as exc:  # one broken run must not keep the others open
            print(f"mloop: could not end run {run.id}: {exc}", file=sys.stderr)
