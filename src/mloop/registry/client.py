"""``Registry``: registered models, versions and aliases over a :class:`mloop.Client`.

    registry = Registry(mloop.Client())
    v = registry.register("runs:/4f2a.../model", "churn")      # models:/churn/1
    registry.promote("churn/1")                                # @champion → 1
    registry.rollback("churn")                                 # @champion → the one before
    registry.version_at("churn", "champion", "2026-03-03T14:00")

Every alias move is appended to the alias history with who, when and why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mloop.data.client import DataClient
from mloop.errors import InvalidArgument
from mloop.models.refs import ModelRef, resolve_version
from mloop.registry.card import ModelCard, build_card
from mloop.registry.history import rollback_target, version_at
from mloop.registry.lineage import Lineage, lineage
from mloop.registry.sources import package_source
from mloop.registry.times import to_ms
from mloop.store import (
    AliasAction,
    AliasEvent,
    ModelVersion,
    ModelVersionStatus,
    NewModelVersion,
    RegisteredModel,
    Store,
    validate,
)
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

CHAMPION = "champion"


class Registry:
    """The model registry of ``client``'s store, in ``project``."""

    def __init__(self, client: Client, project: str = "default") -> None:
        self.client = client
        self.project = project

    @property
    def store(self) -> Store:
        return self.client.store

    # -- registering -------------------------------------------------------------------
    def register(
        self,
        source: Any,
        name: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register a logged model package as the next version of ``name``.

        ``source`` is what ``mloop.models.log`` returned, a ``runs:/RUN/PATH`` URI, a run
        id (its package logged as ``model``), or a ``models:/`` URI (copied to ``name``).
        """
        found = package_source(self.client, source, self.project)
        new = NewModelVersion(
            package=found.package,
            flavor=found.flavor,
            user=self.client.settings.user,
            created_at=now_ms(),
            run_id=found.run_id,
            source=found.uri,
            signature=found.signature,
            description=description,
            tags={k: str(v) for k, v in (tags or {}).items()},
        )
        validate.model_version(new)  # before a new model is made for a version it can't keep
        model = self.store.models.ensure(name, self.project)
        return self.store.models.add_version(model.id, new)

    # -- reading -----------------------------------------------------------------------
    def model(self, name: str) -> RegisteredModel:
        return self.store.models.get(name, self.project)

    def models(self) -> list[RegisteredModel]:
        return self.store.models.list_all(self.project)

    def version(self, ref: str | ModelRef) -> ModelVersion:
        """The version ``ref`` names: ``models:/churn/3``, ``churn@champion``, ``churn``, ..."""
        return resolve_version(self.store, ref, self.project)

    def versions(self, name: str) -> list[ModelVersion]:
        """All versions of ``name``, newest first."""
        return self.store.models.versions(name, self.project)

    def search(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        alias: str | None = None,
        metric: str | None = None,
        at_least: float | None = None,
    ) -> list[ModelVersion]:
        """Versions whose model name matches the glob ``name``, with all ``tags`` (on the
        version or its model), holding ``alias``, and whose run logged ``metric``
        (at least ``at_least`` when given); newest first per model."""
        if at_least is not None and metric is None:
            raise InvalidArgument("at_least needs metric= (the run metric it applies to)")
        found = []
        for model in self.models():
            if name is not None and not fnmatch.fnmatchcase(model.name, name):
                continue
            for version in self.versions(model.name):
                if _matches(self.client, (model, version), tags, alias, (metric, at_least)):
                    found.append(version)
        return found

    def history(self, name: str, alias: str | None = None) -> list[AliasEvent]:
        """Every move of the model's aliases (or of ``alias``), oldest first."""
        return self.store.models.alias_history(name, alias, self.project)

    def version_at(self, name: str, alias: str, at: datetime | str | int) -> ModelVersion | None:
        """The version ``alias`` pointed at, at ``at`` (a datetime, ISO text or epoch ms)."""
        number = version_at(self.history(name, alias), alias, to_ms(at))
        return None if number is None else self.store.models.version(name, number, self.project)

    def lineage(self, ref: str | ModelRef) -> Lineage:
        """The version with its run, code commit, data versions, params and evaluations."""
        return lineage(self.client, self.version(ref))

    def card(self, ref: str | ModelRef) -> ModelCard:
        """The version's model card, from the record only (render it with ``card_render``)."""
        data = DataClient(self.client)
        try:
            return build_card(self.lineage(ref), data)
        finally:
            data.close()

    # -- aliases -----------------------------------------------------------------------
    def set_alias(self, ref: str | ModelRef, alias: str, *, reason: str = "") -> AliasEvent:
        """Point ``alias`` at the version ``ref`` names."""
        version = self.version(ref)
        return self._move(version.model, alias, version.version, AliasAction.SET, reason)

    def promote(
        self, ref: str | ModelRef, alias: str = CHAMPION, *, reason: str = ""
    ) -> AliasEvent:
        """Make the version ``ref`` names the ``alias`` (default: champion)."""
        version = self.version(ref)
        return self._move(version.model, alias, version.version, AliasAction.PROMOTE, reason)

    def rollback(
        self, name: str, alias: str = CHAMPION, *, to: int | None = None, reason: str = ""
    ) -> AliasEvent:
        """Move ``alias`` back to the version it held before (see ``rollback_target``), or
        to version ``to``."""
        validate.model_name(name)
        usable = {v.version for v in self.versions(name) if v.status is ModelVersionStatus.READY}
        if to is None:
            target = rollback_target(self.history(name, alias), alias, usable)
        elif to not in usable:
            raise InvalidArgument(f"cannot roll {name}@{alias} back to version {to}: not usable")
        else:
            target = to
        return self._move(name, alias, target, AliasAction.ROLLBACK, reason)

    def remove_alias(self, name: str, alias: str, *, reason: str = "") -> AliasEvent:
        return self._move(name, alias, None, AliasAction.REMOVE, reason)

    # -- changing versions and models ----------------------------------------------------
    def archive(self, ref: str | ModelRef) -> ModelVersion:
        """Archive a version: kept and loadable, but no alias may point at it."""
        return self._update_version(ref, status=ModelVersionStatus.ARCHIVED)

    def restore(self, ref: str | ModelRef) -> ModelVersion:
        """Make an archived version usable again."""
        return self._update_version(ref, status=ModelVersionStatus.READY)

    def update_version(
        self,
        ref: str | ModelRef,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Set a version's description and tags (an empty tag value deletes the tag)."""
        return self._update_version(ref, description=description, tags=tags)

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Set a model's description and tags (an empty tag value deletes the tag)."""
        return self.store.models.update(
            name, description=description, tags=tags, project=self.project
        )

    def _update_version(self, ref: str | ModelRef, **changes: Any) -> ModelVersion:
        version = self.version(ref)
        return self.store.models.update_version(
            version.model, version.version, project=self.project, **changes
        )

    def _move(
        self, name: str, alias: str, number: int | None, action: AliasAction, reason: str
    ) -> AliasEvent:
        return self.store.models.move_alias(
            name,
            alias,
            number,
            action=action,
            user=self.client.settings.user,
            created_at=now_ms(),
            reason=reason,
            project=self.project,
        )


def _matches(
    client: Client,
    found: tuple[RegisteredModel, ModelVersion],
    tags: Mapping[str, str] | None,
    alias: str | None,
    metric: tuple[str | None, float | None],
) -> bool:
    model, version = found
    if alias is not None and alias not in version.aliases:
        return False
    merged = {**model.tags, **version.tags}
    if tags and any(merged.get(k) != v for k, v in tags.items()):
        return False
    key, at_least = metric
    if key is None:
        return True
    if version.run_id is None:
        return False
    value = client.store.runs.get(version.run_id).metrics.get(key)
    return value is not None and (at_least is None or value >= at_least)
