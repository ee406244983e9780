"""Deployments and their append-only revisions, in SQL."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import Conflict, NotFound
from mloop.store import validate
from mloop.store.entities import Deployment, Revision, RevisionAction, Route
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.schema import deployment_revisions, deployments, projects


@translate_errors
class SqlDeploymentStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def create(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        user: str,
        created_at: int,
        reason: str = "",
        description: str = "",
        project: str = "default",
    ) -> Deployment:
        validate.deployment_name(name)
        validate.routes(routes)
        validate.key("user name", user)
        validate.text_values("reason", {"text": reason})
        validate.description_and_tags(description, None)
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, created_at)
            exists = conn.scalar(
                sa.select(deployments.c.id).where(
                    deployments.c.project_id == project_id, deployments.c.name == name
                )
            )
            if exists is not None:
                raise Conflict(
                    f"deployment {name!r} exists: change its routes with `mloop deploy set {name}`"
                )
            inserted = conn.execute(
                deployments.insert().values(
                    project_id=project_id, name=name, description=description, created_at=created_at
                )
            ).inserted_primary_key
            assert inserted is not None
            deployment_id = int(inserted[0])
            _insert_revision(
                conn, deployment_id, 1, routes, RevisionAction.CREATE, 1, user, created_at, reason
            )
        return self.get(name, project)

    def get(self, name: str, project: str = "default") -> Deployment:
        with self._engine.connect() as conn:
            return _deployments(conn, project, find_deployment(conn, name, project))[0]

    def list_all(self, project: str = "default") -> list[Deployment]:
        with self._engine.connect() as conn:
            return _deployments(conn, project)

    def add_revision(
        self,
        name: str,
        routes: Sequence[Route],
        *,
        action: RevisionAction,
        source: int | None,
        user: str,
        created_at: int,
        reason: str = "",
        expected: int | None = None,
        project: str = "default",
    ) -> Revision:
        validate.routes(routes)
        validate.key("user name", user)
        validate.text_values("reason", {"text": reason})
        action = RevisionAction(action)
        with self._writer.begin() as conn:
            deployment_id = find_deployment(conn, name, project)
            conn.execute(
                sa.select(deployments.c.id)
                .where(deployments.c.id == deployment_id)
                .with_for_update()
            )
            latest = int(
                conn.scalar(
                    sa.select(sa.func.max(deployment_revisions.c.number)).where(
                        deployment_revisions.c.deployment_id == deployment_id
                    )
                )
                or 0
            )
            if expected is not None and expected != latest:
                raise Conflict(
                    f"deployment {name!r} moved to revision {latest} meanwhile "
                    f"(expected {expected}): look at `mloop deploy history {name}` and retry"
                )
            number = latest + 1
            if source is not None and not 1 <= source <= latest:
                raise NotFound(f"deployment {name!r} has no revision {source}")
            _insert_revision(
                conn,
                deployment_id,
                number,
                routes,
                action,
                number if source is None else source,
                user,
                created_at,
                reason,
            )
            where = sa.and_(
                deployment_revisions.c.deployment_id == deployment_id,
                deployment_revisions.c.number == number,
            )
            return _revisions(conn, where)[0]

    def revisions(self, name: str, project: str = "default") -> list[Revision]:
        with self._engine.connect() as conn:
            deployment_id = find_deployment(conn, name, project)
            return _revisions(conn, deployment_revisions.c.deployment_id == deployment_id)

    def revision(self, name: str, number: int, project: str = "default") -> Revision:
        with self._engine.connect() as conn:
            deployment_id = find_deployment(conn, name, project)
            found = _revisions(
                conn,
                sa.and_(
                    deployment_revisions.c.deployment_id == deployment_id,
                    deployment_revisions.c.number == number,
                ),
            )
        if not found:
            raise NotFound(f"deployment {name!r} has no revision {number}")
        return found[0]


def _insert_revision(  # noqa: PLR0917 (one row's columns)
    conn: sa.Connection,
    deployment_id: int,
    number: int,
    routes: Sequence[Route],
    action: RevisionAction,
    source: int,
    user: str,
    created_at: int,
    reason: str,
) -> None:
    conn.execute(
        deployment_revisions.insert().values(
            deployment_id=deployment_id,
            number=number,
            routes=json.dumps(
                [{"model": r.model, "weight": r.weight, "shadow": r.shadow} for r in routes]
            ),
            action=action.value,
            source=source,
            user_name=user,
            created_at=created_at,
            reason=reason,
        )
    )


def find_deployment(conn: sa.Connection, name: str, project: str) -> int:
    """The id of deployment ``name``, or NotFound saying how to list them."""
    found = conn.scalar(
        sa.select(deployments.c.id)
        .join(projects, projects.c.id == deployments.c.project_id)
        .where(projects.c.name == project, deployments.c.name == name)
    )
    if found is None:
        raise NotFound(
            f"no deployment named {name!r} in project {project!r}: "
            "`mloop deploy list` shows the deployments there are"
        )
    return int(found)


def _deployments(conn: sa.Connection, project: str, only: int | None = None) -> list[Deployment]:
    query = (
        sa.select(deployments)
        .join(projects, projects.c.id == deployments.c.project_id)
        .where(projects.c.name == project)
        .order_by(deployments.c.name)
    )
    if only is not None:
        query = query.where(deployments.c.id == only)
    rows = conn.execute(query).all()
    latest = (
        sa.select(
            deployment_revisions.c.deployment_id,
            sa.func.max(deployment_revisions.c.number).label("n"),
        )
        .where(deployment_revisions.c.deployment_id.in_([row.id for row in rows]))
        .group_by(deployment_revisions.c.deployment_id)
        .subquery()
    )
    current = {
        revision.deployment: revision
        for revision in _revisions(
            conn,
            sa.and_(
                deployment_revisions.c.deployment_id == latest.c.deployment_id,
                deployment_revisions.c.number == latest.c.n,
            ),
        )
    }
    return [
        Deployment(row.id, row.name, row.description, row.created_at, current[row.name])
        for row in rows
    ]


def _revisions(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[Revision]:
    rows = conn.execute(
        sa.select(deployment_revisions, deployments.c.name.label("deployment_name"))
        .join(deployments, deployments.c.id == deployment_revisions.c.deployment_id)
        .where(where)
        .order_by(deployment_revisions.c.deployment_id, deployment_revisions.c.number)
    ).all()
    return [
        Revision(
            id=row.id,
            deployment=row.deployment_name,
            number=row.number,
            routes=tuple(
                Route(item["model"], item["weight"], item["shadow"])
                for item in json.loads(row.routes)
            ),
            action=RevisionAction(row.action),
            source=row.source,
            user=row.user_name,
            created_at=row.created_at,
            reason=row.reason,
        )
        for row in rows
    ]
