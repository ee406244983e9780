"""Datasets, their versions and the runs that used them, in SQL."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import (
    BLOB_TAG,
    BlobUser,
    Dataset,
    DatasetKind,
    DatasetVersion,
    NewVersion,
    RunInput,
    now_ms,
)
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.rows import require_run
from mloop.store.sql.schema import (
    dataset_version_tags,
    dataset_versions,
    datasets,
    projects,
    run_inputs,
)
from mloop.store.sql.upsert import insert_ignore, insert_replace

_parent = dataset_versions.alias("parent")
_VERSION_COLUMNS = (
    dataset_versions,
    datasets.c.name.label("dataset_name"),
    _parent.c.version.label("parent_version"),
)


@translate_errors
class SqlDatasetStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def ensure(self, name: str, project: str = "default") -> Dataset:
        validate.dataset_name(name)
        validate.key("project", project)
        now = now_ms()
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, now)
            conn.execute(
                insert_ignore(conn, datasets, ["project_id", "name"]).values(
                    project_id=project_id, name=name, description="", created_at=now
                )
            )
        return self.get(name, project)

    def get(self, name: str, project: str = "default") -> Dataset:
        with self._engine.connect() as conn:
            found = _datasets(conn, project, name)
        if not found:
            raise NotFound(
                f"no dataset named {name!r} in project {project!r}: "
                "`mloop data list` shows the datasets there are"
            )
        return found[0]

    def list_all(self, project: str = "default") -> list[Dataset]:
        with self._engine.connect() as conn:
            return _datasets(conn, project)

    def set_schema(self, name: str, schema: str | None, project: str = "default") -> None:
        dataset = self.get(name, project)
        with self._writer.begin() as conn:
            conn.execute(datasets.update().where(datasets.c.id == dataset.id).values(schema=schema))

    def add_version(self, dataset_id: int, new: NewVersion) -> tuple[DatasetVersion, bool]:
        _check(new)
        with self._writer.begin() as conn:
            locked = sa.select(datasets.c.id).where(datasets.c.id == dataset_id)
            if conn.execute(locked.with_for_update()).first() is None:
                raise NotFound(f"no dataset with id {dataset_id}")
            latest = conn.execute(
                sa.select(
                    dataset_versions.c.id, dataset_versions.c.version, dataset_versions.c.digest
                )
                .where(dataset_versions.c.dataset_id == dataset_id)
                .order_by(dataset_versions.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.digest == new.digest:
                return _load_versions(conn, dataset_versions.c.id == latest.id)[0], False
            inserted = conn.execute(
                dataset_versions.insert().values(
                    dataset_id=dataset_id,
                    version=1 if latest is None else latest.version + 1,
                    digest=new.digest,
                    kind=DatasetKind(new.kind).value,
                    files=new.files,
                    size=new.size,
                    rows=new.rows,
                    profile=new.profile,
                    parent_id=None if latest is None else latest.id,
                    user_name=new.user,
                    created_at=new.created_at,
                    message=new.message,
                    source=new.source,
                )
            ).inserted_primary_key
            assert inserted is not None
            version_id = int(inserted[0])
            _set_tags(conn, version_id, new.tags)
            return _load_versions(conn, dataset_versions.c.id == version_id)[0], True

    def version(self, name: str, number: int, project: str = "default") -> DatasetVersion:
        dataset = self.get(name, project)
        with self._engine.connect() as conn:
            found = _load_versions(
                conn,
                sa.and_(
                    dataset_versions.c.dataset_id == dataset.id,
                    dataset_versions.c.version == number,
                ),
            )
        if not found:
            latest = (
                "it has no versions yet"
                if dataset.latest is None
                else (f"its versions are 1 to {dataset.latest}")
            )
            raise NotFound(f"dataset {name!r} has no version {number}: {latest}")
        return found[0]

    def versions(
        self, name: str, project: str = "default", *, digest_prefix: str | None = None
    ) -> list[DatasetVersion]:
        dataset = self.get(name, project)
        where = dataset_versions.c.dataset_id == dataset.id
        if digest_prefix is not None:
            if not digest_prefix or any(c not in "0123456789abcdef" for c in digest_prefix):
                raise InvalidArgument(f"{digest_prefix!r} is not a digest prefix (hex characters)")
            where = sa.and_(where, dataset_versions.c.digest.like(f"{digest_prefix}%"))
        with self._engine.connect() as conn:
            return _load_versions(conn, where)

    def set_version_tags(self, version_id: int, tags: Mapping[str, str]) -> None:
        validate.text_values("tag", tags)
        with self._writer.begin() as conn:
            require_version(conn, version_id)
            _set_tags(conn, version_id, tags)

    def log_input(self, run_id: str, version_id: int, role: str, created_at: int) -> None:
        validate.run_id(run_id)
        validate.key("input role", role)
        with self._writer.begin() as conn:
            require_run(conn, run_id)
            require_version(conn, version_id)
            conn.execute(
                insert_ignore(conn, run_inputs, ["run_id", "version_id", "role"]).values(
                    run_id=run_id, version_id=version_id, role=role, created_at=created_at
                )
            )

    def run_inputs(self, run_id: str) -> list[RunInput]:
        validate.run_id(run_id)
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            return _inputs(conn, run_inputs.c.run_id == run_id)

    def version_users(self, version_id: int) -> list[RunInput]:
        with self._engine.connect() as conn:
            require_version(conn, version_id)
            return _inputs(conn, run_inputs.c.version_id == version_id)

    def blob_references(self) -> tuple[set[str], set[str]]:
        """Folder manifests, profiles, and the blobs named by ``mloop.blob.*`` tags."""
        query = sa.select(dataset_versions.c.digest, dataset_versions.c.profile)
        kept = sa.select(dataset_version_tags.c.value).where(
            dataset_version_tags.c.key.startswith(BLOB_TAG, autoescape=True)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            derived = set(conn.scalars(kept).all())
        return {r.profile for r in rows if r.profile} | derived, {r.digest for r in rows}

    def blob_users(self, digests: Collection[str]) -> list[BlobUser]:
        wanted = sorted(digests)
        tagged = sa.select(dataset_version_tags.c.version_id).where(
            dataset_version_tags.c.key.startswith(BLOB_TAG, autoescape=True),
            dataset_version_tags.c.value.in_(wanted),
        )
        query = (
            sa.select(datasets.c.name, dataset_versions)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(
                dataset_versions.c.digest.in_(wanted)
                | dataset_versions.c.profile.in_(wanted)
                | dataset_versions.c.id.in_(tagged)
            )
            .order_by(datasets.c.name, dataset_versions.c.version)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            tags = conn.execute(
                sa.select(dataset_version_tags.c.version_id, dataset_version_tags.c.value).where(
                    dataset_version_tags.c.version_id.in_(tagged)
                )
            ).all()
        found = {(r.id, d) for r in rows for d in (r.digest, r.profile) if d in wanted}
        found |= {(t.version_id, t.value) for t in tags if t.value in wanted}
        names = {r.id: f"{r.name}@{r.version}" for r in rows}
        return [BlobUser(d, "dataset version", names[v]) for v, d in sorted(found)]


def _check(new: NewVersion) -> None:
    validate.digest("dataset version", new.digest)
    if new.profile is not None:
        validate.digest("dataset profile", new.profile)
    validate.key("user name", new.user)
    validate.text_values("tag", new.tags)
    for what, value in (("files", new.files), ("size", new.size), ("rows", new.rows)):
        if value is not None and (value < 0 or not validate.in_int64(value)):
            raise InvalidArgument(f"dataset version {what} {value} is out of range")
    if new.message is not None:
        validate.text_values("message", {"text": new.message})


def _datasets(conn: sa.Connection, project: str, name: str | None = None) -> list[Dataset]:
    latest = (
        sa.select(dataset_versions.c.dataset_id, sa.func.max(dataset_versions.c.version).label("n"))
        .group_by(dataset_versions.c.dataset_id)
        .subquery()
    )
    query = (
        sa.select(datasets, latest.c.n)
        .join(projects, projects.c.id == datasets.c.project_id)
        .outerjoin(latest, latest.c.dataset_id == datasets.c.id)
        .where(projects.c.name == project)
        .order_by(datasets.c.name)
    )
    if name is not None:
        query = query.where(datasets.c.name == name)
    return [
        Dataset(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            created_at=row.created_at,
            description=row.description,
            schema=row.schema,
            latest=row.n,
        )
        for row in conn.execute(query).all()
    ]


def _load_versions(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[DatasetVersion]:
    query = (
        sa.select(*_VERSION_COLUMNS)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .outerjoin(_parent, _parent.c.id == dataset_versions.c.parent_id)
        .where(where)
        .order_by(dataset_versions.c.dataset_id, dataset_versions.c.version.desc())
    )
    rows = conn.execute(query).all()
    tags: dict[int, dict[str, str]] = {}
    if rows:
        tag_rows = conn.execute(
            sa.select(dataset_version_tags).where(
                dataset_version_tags.c.version_id.in_([r.id for r in rows])
            )
        ).all()
        for tag in tag_rows:
            tags.setdefault(tag.version_id, {})[tag.key] = tag.value
    return [_version(row, tags.get(row.id, {})) for row in rows]


def _version(row: sa.Row[tuple[object, ...]], tags: dict[str, str]) -> DatasetVersion:
    return DatasetVersion(
        id=row.id,
        dataset=row.dataset_name,
        version=row.version,
        digest=row.digest,
        kind=DatasetKind(row.kind),
        files=row.files,
        size=row.size,
        rows=row.rows,
        profile=row.profile,
        parent=row.parent_version,
        user=row.user_name,
        created_at=row.created_at,
        message=row.message,
        source=row.source,
        tags=tags,
    )


def _inputs(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[RunInput]:
    rows = conn.execute(
        sa.select(run_inputs).where(where).order_by(run_inputs.c.created_at, run_inputs.c.role)
    ).all()
    versions = {}
    if rows:
        ids = sorted({r.version_id for r in rows})
        versions = {v.id: v for v in _load_versions(conn, dataset_versions.c.id.in_(ids))}
    return [RunInput(r.run_id, versions[r.version_id], r.role, r.created_at) for r in rows]


def require_version(conn: sa.Connection, version_id: int) -> None:
    found = conn.scalar(sa.select(dataset_versions.c.id).where(dataset_versions.c.id == version_id))
    if found is None:
        raise NotFound(f"no dataset version with id {version_id}")


def _set_tags(conn: sa.Connection, version_id: int, values: Mapping[str, str]) -> None:
    if values:
        rows = [{"version_id": version_id, "key": k, "value": v} for k, v in sorted(values.items())]
        conn.execute(
            insert_replace(conn, dataset_version_tags, ["version_id", "key"], ["value"]), rows
        )
