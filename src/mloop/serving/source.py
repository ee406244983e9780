"""What a server serves: a deployment (followed), or one model (followed if it is an alias).

``resolve`` reads the store and says which packages should answer right now; the
follower compares that with what is loaded and swaps when they differ. ``build``
loads what is not loaded yet (a package already loaded is reused as it is).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mloop.blobs.digest import hash_file
from mloop.errors import InvalidArgument, NotFound
from mloop.models.load import load
from mloop.models.package import MANIFEST_NAME
from mloop.models.refs import is_model_uri, resolve_version
from mloop.models.uris import is_stored_uri, resolve_package
from mloop.serving.payload import DEFAULT_LIMITS, Limits
from mloop.serving.served import Routing, ServedModel
from mloop.store import Route, validate
from mloop.tracking.client import Client


@dataclass(frozen=True, slots=True)
class Slot:
    """One model that should answer (or shadow), resolved to its package."""

    label: str
    package: str
    weight: int
    shadow: bool = False
    version_id: int | None = None
    name: str | None = None
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """Everything that decides the routing; a server swaps when this changes."""

    slots: tuple[Slot, ...]
    deployment: str | None = None
    revision: int | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """``models:/...``, ``runs:/...``, a package digest or folder, or a deployment name."""

    text: str
    project: str = "default"

    @property
    def is_model(self) -> bool:
        """A model URI, or a package folder (a folder with a package manifest)."""
        return is_stored_uri(self.text) or (Path(self.text) / MANIFEST_NAME).is_file()

    @property
    def follows(self) -> bool:
        """Whether what it names can change while serving (a deployment, an alias)."""
        return not self.is_model or (is_model_uri(self.text) and "@" in self.text)

    def check(self) -> None:
        if self.is_model:
            return
        if Path(self.text).is_dir():
            raise InvalidArgument(
                f"{self.text} is a folder but not a model package (it has no {MANIFEST_NAME})"
            )
        validate.deployment_name(self.text)

    def resolve(self, client: Client) -> Target:
        if not self.is_model:
            deployment = client.store.deployments.get(self.text, self.project)
            revision = deployment.revision
            slots = tuple(_slot(client, route, self.project) for route in revision.routes)
            return Target(slots, deployment.name, revision.number)
        if is_model_uri(self.text):
            return Target((_slot(client, Route(self.text, 100), self.project),))
        if is_stored_uri(self.text):
            digest = resolve_package(client, self.text).hex
            return Target((Slot(self.text, digest, 100),))
        return Target((Slot(os.fspath(self.text), "", 100),))


def _slot(client: Client, route: Route, project: str) -> Slot:
    try:
        version = resolve_version(client.store, route.model, project)
    except NotFound as exc:
        raise NotFound(f"{route.model}: {exc}") from None
    return Slot(
        version.uri,
        version.package,
        route.weight,
        route.shadow,
        version.id,
        version.model,
        version.version,
    )


def build(
    client: Client, target: Target, loaded: Mapping[str, ServedModel], limits: Limits
) -> Routing:
    """The routing for ``target``, loading (and warming) the packages not in ``loaded``."""
    primary: list[tuple[ServedModel, int]] = []
    shadow: ServedModel | None = None
    for slot in target.slots:
        key = slot.package or slot.label
        served = loaded.get(key)
        if served is None or served.label != slot.label:
            served = _load(client, slot, limits)
        if slot.shadow:
            shadow = served
        else:
            primary.append((served, slot.weight))
    if not primary:
        raise InvalidArgument("nothing to serve: every route is a shadow")
    return Routing(tuple(primary), shadow, target.deployment, target.revision)


def load_model(client: Client, text: str, limits: Limits = DEFAULT_LIMITS) -> ServedModel:
    """The one model ``text`` names (a model URI, a digest or a package folder), loaded
    as a server would, for scoring outside a server."""
    source = Source(text)
    if not source.is_model:
        raise InvalidArgument(
            f"{text!r} names no model: use models:/NAME@ALIAS, models:/NAME/N, runs:/RUN/PATH, "
            "a package digest or a package folder"
        )
    return _load(client, source.resolve(client).slots[0], limits)


def _load(client: Client, slot: Slot, limits: Limits) -> ServedModel:
    if slot.package:
        model = load(slot.package, client=client)
        package = slot.package
    else:  # a local folder: named by the digest of its manifest file
        model = load(Path(slot.label))
        package = hash_file(model.path / MANIFEST_NAME).hex
    served = ServedModel(
        slot.label,
        package,
        model,
        version_id=slot.version_id,
        name=slot.name,
        version=slot.version,
        limits=limits,
    )
    served.warm()
    return served
