"""``mloop fsck``: the blob store checked against everything the metadata references,
and what a damaged blob breaks, up to the deployments that serve it.

The checking itself is :func:`mloop.blobs.fsck.check_store`; this module gives
it the references of every aggregate, the second copies this machine holds
(the hash cache's files, the checkout and model caches), and maps the blobs
that stay damaged to the objects they make unreadable. It lives in serving,
the lowest layer that sees deployments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mloop.blobs.fsck import FsckReport, LocalCopies, check_store
from mloop.blobs.hashcache import HashCache, default_location
from mloop.blobs.ingest import Progress
from mloop.errors import MloopError
from mloop.models.refs import parse_model_ref
from mloop.store import BlobUser, Store
from mloop.tracking.client import Client

MODEL_VERSION = "model version"
DEPLOYMENT = "deployment"


@dataclass(frozen=True, slots=True)
class StoreCheck:
    """A checked store: the blob report and the objects that cannot be read now."""

    blobs: FsckReport
    broken: tuple[BlobUser, ...]
    """Every object a damaged blob breaks (directly, or through a folder's manifest),
    deployments included: sorted by kind and name."""

    @property
    def clean(self) -> bool:
        return self.blobs.clean

    def to_dict(self) -> dict[str, Any]:
        report = self.blobs
        return {
            "clean": self.clean,
            "objects": report.objects,
            "hashed": report.hashed,
            "hashed_bytes": report.hashed_bytes,
            "referenced": report.referenced,
            "damaged": [
                {
                    "digest": d.digest.hex,
                    "problem": d.problem.value,
                    "repaired_from": None if d.repaired_from is None else str(d.repaired_from),
                }
                for d in report.damaged
            ],
            "broken": [{"kind": u.kind, "name": u.name, "digest": u.digest} for u in self.broken],
        }


def check_storage(
    client: Client,
    *,
    sample: int | float | None = None,
    repair: bool = False,
    progress: Progress | None = None,
) -> StoreCheck:
    """Check the client's blob store against its metadata; repair what a second copy
    on this machine allows when ``repair``. See :func:`mloop.blobs.fsck.check_store`."""
    files, trees = client.blob_references()
    cache = HashCache(default_location(_workspace(client)))
    try:
        report = check_store(
            client.blobs,
            files,
            trees,
            sample=sample,
            repair=repair,
            copies=LocalCopies(cache, client.local_caches()),
            progress=progress,
        )
    finally:
        cache.close()
    lost = {digest.hex for digest in report.broken()}
    users = [user for source in client.blob_sources() for user in source.blob_users(lost)]
    users += deployments_of(client.store, users)
    return StoreCheck(report, tuple(sorted(set(users), key=lambda u: (u.kind, u.name))))


def deployments_of(store: Store, users: list[BlobUser]) -> list[BlobUser]:
    """The deployments whose current routes serve one of the model versions in ``users``
    (by number, or through an alias that points at it now)."""
    versions = {user.name: user.digest for user in users if user.kind == MODEL_VERSION}
    if not versions:
        return []
    found = []
    for deployment in store.deployments.list_all():
        for route in deployment.revision.routes:
            served = _version_uri(store, route.model)
            if served in versions:
                found.append(BlobUser(versions[served], DEPLOYMENT, deployment.name))
    return found


def _version_uri(store: Store, model: str) -> str | None:
    """``models:/NAME/N`` for a route's model, resolving an alias; None if it names none."""
    try:
        ref = parse_model_ref(model)
        number = ref.number
        if number is None:
            registered = store.models.get(ref.name)
            number = registered.aliases.get(ref.alias) if ref.alias else registered.latest
    except MloopError:
        return None
    return None if number is None else f"models:/{ref.name}/{number}"


def _workspace(client: Client) -> Path | None:
    try:
        return client.settings.workspace
    except MloopError:
        return None
