"""``mloop.Client``: the explicit API over the metadata store and the blob store.

The fluent API (``mloop.start_run`` ...) is a thin layer over one of these.
"""

from __future__ import annotations

import json
import math
import operator
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from mloop.blobs import BlobStore, Digest, GcReport, collect_garbage, open_blobs
from mloop.config import Settings, hide_password, resolve_settings
from mloop.errors import InvalidArgument, MloopError, NotFound
from mloop.store import (
    ArtifactEntry,
    Experiment,
    ExperimentSummary,
    MetricPoint,
    Note,
    NoteOutcome,
    Page,
    Run,
    RunQuery,
    RunStatus,
    Store,
    open_store,
    validate,
)
from mloop.store.entities import now_ms
from mloop.store.interfaces import BlobSource
from mloop.tracking import artifacts
from mloop.tracking.capture import SKIPPED_TAG, Capture, capture
from mloop.workspace import CHECKOUTS, MODELS, cache_root


class Client:
    """Everything explicit over the stores.

    ``Client()`` uses the workspace; ``Client("postgresql://...")`` another store.

    ``store=`` and ``blobs=`` inject ready-made backends (tests, servers).
    """

    def __init__(
        self,
        uri: str | None = None,
        *,
        blobs: str | BlobStore | None = None,
        store: Store | None = None,
    ) -> None:
        self._uri = uri
        self._blobs_arg = blobs
        self._store_arg = store

    @cached_property
    def settings(self) -> Settings:
        blobs = self._blobs_arg if isinstance(self._blobs_arg, str) else None
        return resolve_settings(self._uri, blobs)

    @cached_property
    def store(self) -> Store:
        return self._store_arg or open_store(self.settings.uri)

    @cached_property
    def blobs(self) -> BlobStore:
        if isinstance(self._blobs_arg, BlobStore):
            return self._blobs_arg
        root = self.settings.blobs
        if root is None:
            raise InvalidArgument(
                f"no blob store is configured for {hide_password(self.settings.uri)}: "
                "set MLOOP_BLOBS "
                "(a folder or s3://bucket/prefix) or pass blobs= to Client"
            )
        return open_blobs(root)

    # -- experiments ---------------------------------------------------------------
    def experiment(self, name: str | None = None) -> Experiment:
        """The experiment ``name`` (default: the configured one), created if missing."""
        return self.store.experiments.ensure(name or self.settings.experiment)

    def list_experiments(self) -> list[ExperimentSummary]:
        return self.store.experiments.list()

    # -- runs ------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str | Experiment | None = None,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        capture_env: bool = True,
    ) -> Run:
        """Start a run; with ``capture_env`` it records git state, command, Python and packages.

        ``experiment`` is a name (created if missing; default: the configured one) or
        an ``Experiment`` already at hand.
        """
        exp = experiment if isinstance(experiment, Experiment) else self.experiment(experiment)
        env = capture() if capture_env else Capture({})
        env_tags, files = self._store_capture(env)  # before the run: no orphan if this fails
        run = self.store.runs.create(
            exp.id,
            name=name,
            user=self.settings.user,
            start_time=now_ms(),
            parent_id=parent_id,
            tags={**env_tags, **(tags or {})},
        )
        if files:
            self.store.runs.record_artifacts(run.id, files)
        return run

    def get_run(self, run_id: str) -> Run:
        """The run with id ``run_id``, or with a unique id prefix of at least 4 characters."""
        return self.store.runs.get(self.resolve_run_id(run_id))

    def resolve_run_id(self, ref: str) -> str:
        if not isinstance(ref, str):
            raise InvalidArgument(f"a run id is a string, got {type(ref).__name__}")
        ref = ref.strip().lower()
        if len(ref) == 32:
            return ref
        if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
            raise InvalidArgument(f"{ref!r} is not a run id or an id prefix of 4+ hex characters")
        found = self.store.runs.search(
            RunQuery(filter=f"attributes.run_id LIKE '{ref}%'", max_results=2)
        ).items
        if not found:
            raise NotFound(f"no run whose id starts with {ref!r}")
        if len(found) > 1:
            raise InvalidArgument(f"run id prefix {ref!r} is ambiguous: give more characters")
        return found[0].id

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> None:
        self.store.runs.set_status(run_id, _choice(RunStatus, "status", status), now_ms())

    def search_runs(
        self,
        filter: str | None = None,
        *,
        experiments: Sequence[str] | None = None,
        order_by: str | Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching ``filter`` (see ``mloop.store.query`` for the language), newest first."""
        if isinstance(order_by, str):
            order_by = [order_by]
        ids = None
        if experiments is not None:
            ids = [self.store.experiments.get_by_name(name).id for name in experiments]
        query = RunQuery(ids, filter, tuple(order_by), max_results, page_token)
        return self.store.runs.search(query)

    # -- run data ----------------------------------------------------------------------
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log params (values are stored as text); a logged param never changes."""
        self.store.runs.log_params(run_id, {k: _param_text(v) for k, v in params.items()})

    def log_metric(
        self, run_id: str, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        stamp = now_ms() if timestamp is None else integer(key, "timestamp", timestamp)
        point = MetricPoint(key, metric_value(key, value), integer(key, "step", step), stamp)
        self.store.runs.log_metrics(run_id, [point])

    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Log many points in one write."""
        self.store.runs.log_metrics(run_id, points)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self.store.runs.metric_history(run_id, key)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.store.runs.set_tags(run_id, {k: str(v) for k, v in tags.items()})

    def add_note(self, run_id: str, text: str, outcome: NoteOutcome | str | None = None) -> Note:
        """Record what was tried in a run and whether it worked."""
        result = None if outcome is None else _choice(NoteOutcome, "outcome", outcome)
        return self.store.runs.add_note(
            run_id, text, outcome=result, user=self.settings.user, created_at=now_ms()
        )

    def list_notes(self, run_id: str) -> list[Note]:
        return self.store.runs.notes(run_id)

    # -- artifacts ---------------------------------------------------------------------
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> ArtifactEntry:
        """Store a file or a folder as an artifact of the run (default name: its own)."""
        local = Path(local_path)
        name = local.resolve().name
        path = artifacts.artifact_path(name if artifact_path is None else artifact_path)
        self.store.runs.get(run_id)  # fail on an unknown run before storing bytes
        entry = artifacts.store_local(self.blobs, local, path)
        self.store.runs.record_artifacts(run_id, [entry])
        return entry

    def log_dict(self, run_id: str, data: Mapping[str, Any], artifact_path: str) -> ArtifactEntry:
        """Store ``data`` as a JSON artifact."""
        content = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
        return self.log_bytes(run_id, content, artifact_path)

    def log_bytes(self, run_id: str, content: bytes, artifact_path: str) -> ArtifactEntry:
        """Store ``content`` as the artifact ``artifact_path``."""
        path = artifacts.artifact_path(artifact_path)
        self.store.runs.get(run_id)  # fail on an unknown run before storing bytes
        entry = artifacts.store_bytes(self.blobs, content, path)
        self.store.runs.record_artifacts(run_id, [entry])
        return entry

    def list_artifacts(self, run_id: str) -> list[ArtifactEntry]:
        return self.store.runs.artifacts(run_id)

    def download_artifact(self, run_id: str, path: str, dest: str | Path) -> Path:
        """Write artifact ``path`` to ``dest``; verified.

        It goes inside ``dest`` when that is a folder or ends with a slash.
        """
        wanted = artifacts.artifact_path(path, internal=True)
        into = isinstance(dest, str) and dest.endswith(("/", os.sep))
        entries = self.store.runs.artifacts(run_id)
        return artifacts.download(self.blobs, entries, wanted, Path(dest), into=into)

    def garbage_collect(
        self, *, delete: bool = False, min_age: timedelta = timedelta(hours=1)
    ) -> GcReport:
        """Find (and with ``delete``, remove) blobs no run, dataset, model version,
        prediction-log segment, monitor report or pipeline step output references,
        and temporary files that killed writes left in the blob store and the local
        caches.

        Blobs and temporary files younger than ``min_age`` are kept: a writer may
        be about to reference them, or still be writing.
        """
        files, trees = self.blob_references()
        return collect_garbage(
            self.blobs, files, trees, delete=delete, min_age=min_age, staging=self.local_caches()
        )

    def blob_references(self) -> tuple[set[Digest], set[Digest]]:
        """Every blob the metadata references: (files, folder manifests)."""
        files, trees = self.store.runs.blob_references()
        for source in self.blob_sources()[1:]:
            more_files, more_trees = source.blob_references()
            files, trees = files | more_files, trees | more_trees
        return set(map(Digest, files)), set(map(Digest, trees))

    def blob_sources(self) -> tuple[BlobSource, ...]:
        """The aggregates of the store that reference blobs."""
        return (
            self.store.runs,
            self.store.datasets,
            self.store.models,
            self.store.predictions,
            self.store.monitors,
            self.store.pipelines,
        )

    def local_caches(self) -> list[Path]:
        """This machine's caches of copies named by their manifest's digest: checked-out
        dataset versions and extracted model packages."""
        try:
            workspace = self.settings.workspace
        except MloopError:
            workspace = None
        root = cache_root(workspace)
        return [root / CHECKOUTS, root / MODELS]

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        if "store" in self.__dict__ and self._store_arg is None:
            self.store.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _store_capture(self, env: Capture) -> tuple[dict[str, str], list[ArtifactEntry]]:
        """The run's tags and its stored captured files; without a blob store, a tag says so."""
        if not env.files:
            return env.tags, []
        if self._blobs_arg is None and self.settings.blobs is None:
            return {**env.tags, SKIPPED_TAG: "no blob store configured (MLOOP_BLOBS)"}, []
        files = [artifacts.store_bytes(self.blobs, data, path) for path, data in env.files.items()]
        return env.tags, files


def metric_value(key: str, value: object) -> float:
    """A metric value as float: numbers (incl. numpy scalars), NaN and ±inf; never text."""
    if type(value) is float:
        return value
    if isinstance(value, bool | str | bytes) or value is None:
        raise InvalidArgument(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}"
        )
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        shown = str(value)
        shown = shown if len(shown) <= 24 else f"{shown[:12]}…({len(shown)} digits)"
        raise InvalidArgument(f"metric {key!r}: {shown} is too large for a float") from None
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"metric {key!r} must be a number, got {type(value).__name__} {value!r}"
        ) from None
    return number if not math.isnan(number) else math.nan


def integer(key: str, what: str, value: object) -> int:
    """A metric's step or timestamp as int: ints and numpy integers, never floats or bools."""
    if isinstance(value, bool):
        raise InvalidArgument(f"metric {key!r}: {what} must be an integer, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgument(
            f"metric {key!r}: {what} must be an integer, got {type(value).__name__} {value!r}"
        ) from None
    if not validate.in_int64(number):
        raise InvalidArgument(f"metric {key!r}: {what} {number} does not fit in 64 bits")
    return number


def _param_text(value: Any) -> str:
    """Params are text: strings as they are, lists and dicts as JSON, anything else str()."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], what: str, value: object) -> E:
    """``value`` as a member of ``kind``, whatever its case."""
    for member in kind:
        if str(value).lower() == member.value.lower():
            return member
    choices = ", ".join(member.value for member in kind)
    raise InvalidArgument(f"{what} must be one of {choices}, got {value!r}")
