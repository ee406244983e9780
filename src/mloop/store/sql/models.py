"""Registered models, their versions, and aliases with an append-only history, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import Conflict, NotFound
from mloop.store import validate
from mloop.store.entities import (
    AliasAction,
    AliasEvent,
    BlobUser,
    ModelVersion,
    ModelVersionStatus,
    NewModelVersion,
    RegisteredModel,
    now_ms,
)
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.rows import require_run
from mloop.store.sql.schema import (
    alias_events,
    model_aliases,
    model_version_tags,
    model_versions,
    projects,
    registered_model_tags,
    registered_models,
)
from mloop.store.sql.upsert import insert_ignore, insert_replace


@translate_errors
class SqlModelStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def ensure(self, name: str, project: str = "default") -> RegisteredModel:
        validate.model_name(name)
        validate.key("project", project)
        now = now_ms()
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, now)
            conn.execute(
                insert_ignore(conn, registered_models, ["project_id", "name"]).values(
                    project_id=project_id, name=name, description="", created_at=now
                )
            )
        return self.get(name, project)

    def get(self, name: str, project: str = "default") -> RegisteredModel:
        with self._engine.connect() as conn:
            return _models(conn, project, _model_id(conn, name, project))[0]

    def list_all(self, project: str = "default") -> list[RegisteredModel]:
        with self._engine.connect() as conn:
            return _models(conn, project)

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        project: str = "default",
    ) -> RegisteredModel:
        validate.description_and_tags(description, tags)
        with self._writer.begin() as conn:
            model_id = _model_id(conn, name, project)
            if description is not None:
                conn.execute(
                    registered_models.update()
                    .where(registered_models.c.id == model_id)
                    .values(description=description)
                )
            _set_tags(conn, registered_model_tags, "model_id", model_id, tags or {})
        return self.get(name, project)

    def add_version(self, model_id: int, new: NewModelVersion) -> ModelVersion:
        validate.model_version(new)
        with self._writer.begin() as conn:
            locked = sa.select(registered_models.c.id).where(registered_models.c.id == model_id)
            if conn.execute(locked.with_for_update()).first() is None:
                raise NotFound(f"no registered model with id {model_id}")
            if new.run_id is not None:
                require_run(conn, new.run_id)
            latest = conn.scalar(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model_id
                )
            )
            inserted = conn.execute(
                model_versions.insert().values(
                    model_id=model_id,
                    version=(latest or 0) + 1,
                    package=new.package,
                    flavor=new.flavor,
                    run_id=new.run_id,
                    source=new.source,
                    signature=new.signature,
                    status=ModelVersionStatus.READY.value,
                    description=new.description,
                    user_name=new.user,
                    created_at=new.created_at,
                )
            ).inserted_primary_key
            assert inserted is not None
            version_id = int(inserted[0])
            _set_tags(conn, model_version_tags, "version_id", version_id, new.tags)
            return _versions(conn, model_versions.c.id == version_id)[0]

    def version(self, name: str, number: int, project: str = "default") -> ModelVersion:
        with self._engine.connect() as conn:
            return _version_row(conn, _model_id(conn, name, project), name, number)

    def versions(self, name: str, project: str = "default") -> list[ModelVersion]:
        with self._engine.connect() as conn:
            model_id = _model_id(conn, name, project)
            return _versions(conn, model_versions.c.model_id == model_id)

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        validate.run_id(run_id)
        with self._engine.connect() as conn:
            return _versions(conn, model_versions.c.run_id == run_id)

    def update_version(
        self,
        name: str,
        number: int,
        *,
        status: ModelVersionStatus | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        project: str = "default",
    ) -> ModelVersion:
        validate.description_and_tags(description, tags)
        with self._writer.begin() as conn:
            model_id = _lock_model(conn, name, project)
            found = _version_row(conn, model_id, name, number)
            values: dict[str, str] = {}
            if status is not None:
                status = ModelVersionStatus(status)
                if status is ModelVersionStatus.ARCHIVED and found.aliases:
                    held = ", ".join(f"@{a}" for a in found.aliases)
                    raise Conflict(
                        f"{found.uri} is {held}: move the alias to another version "
                        "before archiving it"
                    )
                values["status"] = status.value
            if description is not None:
                values["description"] = description
            if values:
                conn.execute(
                    model_versions.update().where(model_versions.c.id == found.id).values(values)
                )
            _set_tags(conn, model_version_tags, "version_id", found.id, tags or {})
            return _versions(conn, model_versions.c.id == found.id)[0]

    def move_alias(
        self,
        name: str,
        alias: str,
        number: int | None,
        *,
        action: AliasAction,
        user: str,
        created_at: int,
        reason: str = "",
        project: str = "default",
    ) -> AliasEvent:
        validate.alias(alias)
        validate.key("user name", user)
        validate.text_values("reason", {"text": reason})
        action = AliasAction(action)
        with self._writer.begin() as conn:
            model_id = _lock_model(conn, name, project)
            current = conn.scalar(
                sa.select(model_aliases.c.version_id).where(
                    model_aliases.c.model_id == model_id, model_aliases.c.alias == alias
                )
            )
            target = None if number is None else _alias_target(conn, model_id, name, number)
            if target is None and current is None:
                raise NotFound(f"model {name!r} has no alias @{alias}")
            _point(conn, model_id, alias, target)
            inserted = conn.execute(
                alias_events.insert().values(
                    model_id=model_id,
                    alias=alias,
                    version_id=target,
                    previous_id=current,
                    action=action.value,
                    user_name=user,
                    created_at=created_at,
                    reason=reason,
                )
            ).inserted_primary_key
            assert inserted is not None
            return _events(conn, alias_events.c.id == int(inserted[0]))[0]

    def alias_history(
        self, name: str, alias: str | None = None, project: str = "default"
    ) -> list[AliasEvent]:
        with self._engine.connect() as conn:
            where = alias_events.c.model_id == _model_id(conn, name, project)
            if alias is not None:
                where = sa.and_(where, alias_events.c.alias == alias)
            return _events(conn, where)

    def blob_references(self) -> tuple[set[str], set[str]]:
        with self._engine.connect() as conn:
            packages = conn.scalars(sa.select(model_versions.c.package).distinct()).all()
        return set(), set(packages)

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        query = (
            sa.select(registered_models.c.name, model_versions.c.version, model_versions.c.package)
            .join(registered_models, registered_models.c.id == model_versions.c.model_id)
            .where(model_versions.c.package.in_(sorted(digests)))
            .order_by(registered_models.c.name, model_versions.c.version)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [BlobUser(r.package, "model version", f"models:/{r.name}/{r.version}") for r in rows]


def _model_id(conn: sa.Connection, name: str, project: str) -> int:
    found = conn.scalar(
        sa.select(registered_models.c.id)
        .join(projects, projects.c.id == registered_models.c.project_id)
        .where(projects.c.name == project, registered_models.c.name == name)
    )
    if found is None:
        raise NotFound(
            f"no registered model named {name!r} in project {project!r}: "
            "`mloop models list` shows the models there are"
        )
    return int(found)


def _lock_model(conn: sa.Connection, name: str, project: str) -> int:
    """The model's id, its row locked (PostgreSQL) so alias moves and archiving serialise."""
    model_id = _model_id(conn, name, project)
    conn.execute(
        sa.select(registered_models.c.id)
        .where(registered_models.c.id == model_id)
        .with_for_update()
    )
    return model_id


def _version_row(conn: sa.Connection, model_id: int, name: str, number: int) -> ModelVersion:
    found = _versions(
        conn, sa.and_(model_versions.c.model_id == model_id, model_versions.c.version == number)
    )
    if not found:
        latest = conn.scalar(
            sa.select(sa.func.max(model_versions.c.version)).where(
                model_versions.c.model_id == model_id
            )
        )
        known = "it has no versions yet" if latest is None else f"its versions are 1 to {latest}"
        raise NotFound(f"model {name!r} has no version {number}: {known}")
    return found[0]


def _alias_target(conn: sa.Connection, model_id: int, name: str, number: int) -> int:
    version = _version_row(conn, model_id, name, number)
    if version.status is ModelVersionStatus.ARCHIVED:
        raise Conflict(f"{version.uri} is archived: an alias cannot point at it")
    return version.id


def _point(conn: sa.Connection, model_id: int, alias: str, version_id: int | None) -> None:
    key = sa.and_(model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)
    if version_id is None:
        conn.execute(model_aliases.delete().where(key))
        return
    conn.execute(
        insert_replace(conn, model_aliases, ["model_id", "alias"], ["version_id"]).values(
            model_id=model_id, alias=alias, version_id=version_id
        )
    )


def _models(
    conn: sa.Connection, project: str, model_id: int | None = None
) -> list[RegisteredModel]:
    latest = (
        sa.select(model_versions.c.model_id, sa.func.max(model_versions.c.version).label("n"))
        .group_by(model_versions.c.model_id)
        .subquery()
    )
    query = (
        sa.select(registered_models, latest.c.n)
        .join(projects, projects.c.id == registered_models.c.project_id)
        .outerjoin(latest, latest.c.model_id == registered_models.c.id)
        .where(projects.c.name == project)
        .order_by(registered_models.c.name)
    )
    if model_id is not None:
        query = query.where(registered_models.c.id == model_id)
    rows = conn.execute(query).all()
    ids = [row.id for row in rows]
    tags: dict[int, dict[str, str]] = {}
    for tag in conn.execute(
        sa.select(registered_model_tags).where(registered_model_tags.c.model_id.in_(ids))
    ):
        tags.setdefault(tag.model_id, {})[tag.key] = tag.value
    aliases: dict[int, dict[str, int]] = {}
    for alias in conn.execute(
        sa.select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
        .where(model_aliases.c.model_id.in_(ids))
        .order_by(model_aliases.c.alias)
    ):
        aliases.setdefault(alias.model_id, {})[alias.alias] = alias.version
    return [
        RegisteredModel(
            id=row.id,
            name=row.name,
            description=row.description,
            created_at=row.created_at,
            latest=row.n,
            tags=tags.get(row.id, {}),
            aliases=aliases.get(row.id, {}),
        )
        for row in rows
    ]


def _versions(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[ModelVersion]:
    rows = conn.execute(
        sa.select(model_versions, registered_models.c.name.label("model_name"))
        .join(registered_models, registered_models.c.id == model_versions.c.model_id)
        .where(where)
        .order_by(model_versions.c.model_id, model_versions.c.version.desc())
    ).all()
    ids = [row.id for row in rows]
    tags: dict[int, dict[str, str]] = {}
    for tag in conn.execute(
        sa.select(model_version_tags).where(model_version_tags.c.version_id.in_(ids))
    ):
        tags.setdefault(tag.version_id, {})[tag.key] = tag.value
    aliases: dict[int, list[str]] = {}
    for alias in conn.execute(
        sa.select(model_aliases)
        .where(model_aliases.c.version_id.in_(ids))
        .order_by(model_aliases.c.alias)
    ):
        aliases.setdefault(alias.version_id, []).append(alias.alias)
    return [
        ModelVersion(
            id=row.id,
            model=row.model_name,
            version=row.version,
            package=row.package,
            flavor=row.flavor,
            run_id=row.run_id,
            source=row.source,
            signature=row.signature,
            status=ModelVersionStatus(row.status),
            description=row.description,
            user=row.user_name,
            created_at=row.created_at,
            tags=tags.get(row.id, {}),
            aliases=tuple(aliases.get(row.id, [])),
        )
        for row in rows
    ]


def _events(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[AliasEvent]:
    target = model_versions.alias("target")
    before = model_versions.alias("before")
    rows = conn.execute(
        sa.select(
            alias_events,
            registered_models.c.name.label("model_name"),
            target.c.version.label("target_version"),
            before.c.version.label("previous_version"),
        )
        .join(registered_models, registered_models.c.id == alias_events.c.model_id)
        .outerjoin(target, target.c.id == alias_events.c.version_id)
        .outerjoin(before, before.c.id == alias_events.c.previous_id)
        .where(where)
        .order_by(alias_events.c.created_at, alias_events.c.id)
    ).all()
    return [
        AliasEvent(
            id=row.id,
            model=row.model_name,
            alias=row.alias,
            version=row.target_version,
            previous=row.previous_version,
            action=AliasAction(row.action),
            user=row.user_name,
            created_at=row.created_at,
            reason=row.reason,
        )
        for row in rows
    ]


def _set_tags(
    conn: sa.Connection, table: sa.Table, owner: str, owner_id: int, values: Mapping[str, str]
) -> None:
    """Upsert tags; an empty value deletes the tag."""
    keep = {k: v for k, v in values.items() if v != ""}
    drop = [k for k, v in values.items() if v == ""]
    if drop:
        conn.execute(table.delete().where(table.c[owner] == owner_id, table.c.key.in_(drop)))
    if keep:
        rows = [{owner: owner_id, "key": k, "value": v} for k, v in sorted(keep.items())]
        conn.execute(insert_replace(conn, table, [owner, "key"], ["value"]), rows)
