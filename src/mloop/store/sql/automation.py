"""The automation's jobs, trigger cursors and decision log, in SQL.

A job is opened by one trigger event and never twice for the same one (a unique key
on the event's name); each change of a job's state is written with its events in one
transaction, and only from the state the writer saw, so two agents cannot both act.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import validate
from mloop.store.entities import (
    AutomationEvent,
    Job,
    JobState,
    NewAutomationEvent,
    NewJob,
    now_ms,
)
from mloop.store.sql.engine import writer
from mloop.store.sql.errors import translate_errors
from mloop.store.sql.projects import ensure_project
from mloop.store.sql.schema import (
    automation_cursors,
    automation_events,
    automation_jobs,
    automation_leases,
    projects,
)
from mloop.store.sql.upsert import insert_ignore


@translate_errors
class SqlAutomationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def arm(
        self,
        policy: str,
        trigger: str,
        cursor: str,
        event: NewAutomationEvent,
        project: str = "default",
    ) -> bool:
        validate.key("policy", policy)
        validate.key("trigger", trigger)
        validate.key("cursor", cursor)
        _check_event(event)
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, event.created_at)
            done = conn.execute(
                insert_ignore(conn, automation_cursors, ["project_id", "policy", "trigger"])
                .values(
                    project_id=project_id,
                    policy=policy,
                    trigger=trigger,
                    cursor=cursor,
                    created_at=event.created_at,
                )
                .returning(automation_cursors.c.cursor)
            ).first()
            if done is None:  # armed already
                return False
            _insert_event(conn, project_id, event)
        return True

    def lease(
        self, policy: str, owner: str, until: int, now: int, project: str = "default"
    ) -> bool:
        validate.key("policy", policy)
        validate.key("lease owner", owner)
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, now)
            _serialise(conn, f"mloop.automation.lease/{project_id}/{policy}")
            held = conn.execute(
                sa.select(automation_leases.c.owner, automation_leases.c.until).where(
                    automation_leases.c.project_id == project_id,
                    automation_leases.c.policy == policy,
                )
            ).first()
            if held is None:
                conn.execute(
                    automation_leases.insert().values(
                        project_id=project_id, policy=policy, owner=owner, until=until
                    )
                )
                return True
            if held.owner != owner and held.until >= now:
                return False
            conn.execute(
                automation_leases.update()
                .where(
                    automation_leases.c.project_id == project_id,
                    automation_leases.c.policy == policy,
                )
                .values(owner=owner, until=until)
            )
        return True

    def holder(self, policy: str, now: int, project: str = "default") -> str | None:
        with self._engine.connect() as conn:
            found = conn.execute(
                sa.select(automation_leases.c.owner)
                .join(projects, projects.c.id == automation_leases.c.project_id)
                .where(
                    projects.c.name == project,
                    automation_leases.c.policy == policy,
                    automation_leases.c.until >= now,
                )
            ).scalar()
        return None if found is None else str(found)

    def release(self, policy: str, owner: str, project: str = "default") -> None:
        project_id = sa.select(projects.c.id).where(projects.c.name == project).scalar_subquery()
        with self._writer.begin() as conn:
            conn.execute(
                automation_leases.delete().where(
                    automation_leases.c.project_id == project_id,
                    automation_leases.c.policy == policy,
                    automation_leases.c.owner == owner,
                )
            )

    def cursors(self, policy: str, project: str = "default") -> dict[str, str]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(automation_cursors.c.trigger, automation_cursors.c.cursor)
                .join(projects, projects.c.id == automation_cursors.c.project_id)
                .where(projects.c.name == project, automation_cursors.c.policy == policy)
            ).all()
        return {r.trigger: r.cursor for r in rows}

    def move_cursor(
        self, policy: str, trigger: str, old: str, new: str, project: str = "default"
    ) -> bool:
        validate.key("cursor", new)
        try:
            with self._writer.begin() as conn:
                _move(conn, project, policy, trigger, old, new)
        except _Moved:
            return False
        return True

    def open_job(
        self,
        new: NewJob,
        event: NewAutomationEvent,
        cursor: tuple[str, str] | None = None,
        project: str = "default",
    ) -> Job | None:
        validate.key("policy", new.policy)
        validate.key("trigger", new.trigger)
        validate.key("trigger event", new.dedupe)
        _check_event(event)
        try:
            job_id = self._open(new, event, cursor, project)
        except _Moved:
            return None
        return None if job_id is None else self.job(job_id)

    def _open(
        self,
        new: NewJob,
        event: NewAutomationEvent,
        cursor: tuple[str, str] | None,
        project: str,
    ) -> int | None:
        with self._writer.begin() as conn:
            project_id = ensure_project(conn, project, new.created_at)
            if JobState(new.state).active:
                _one_active(conn, project_id, new.policy)
            job_id = conn.execute(
                insert_ignore(conn, automation_jobs, ["project_id", "policy", "dedupe"])
                .values(
                    project_id=project_id,
                    policy=new.policy,
                    trigger=new.trigger,
                    dedupe=new.dedupe,
                    state=JobState(new.state).value,
                    data=new.data,
                    created_at=new.created_at,
                    updated_at=new.created_at,
                )
                .returning(automation_jobs.c.id)
            ).scalar()
            if job_id is None:  # this trigger event opened a job already
                return None
            _insert_event(conn, project_id, _with_job(event, int(job_id)))
            if cursor is not None:
                _move(conn, project, new.policy, new.trigger, *cursor)
        return int(job_id)

    def advance(
        self,
        job_id: int,
        expected: JobState,
        state: JobState,
        data: str,
        events: Sequence[NewAutomationEvent],
    ) -> Job:
        for event in events:
            _check_event(event)
        with self._writer.begin() as conn:
            project_id = conn.scalar(
                sa.select(automation_jobs.c.project_id).where(automation_jobs.c.id == job_id)
            )
            if project_id is None:
                raise NotFound(f"no automation job {job_id}")
            done = conn.execute(
                automation_jobs.update()
                .where(
                    automation_jobs.c.id == job_id,
                    automation_jobs.c.state == JobState(expected).value,
                )
                .values(state=JobState(state).value, data=data, updated_at=now_ms())
            )
            if done.rowcount != 1:
                raise Conflict(
                    f"automation job {job_id} is no longer {JobState(expected).value}: "
                    "another agent moved it"
                )
            for event in events:
                _insert_event(conn, int(project_id), _with_job(event, job_id))
        return self.job(job_id)

    def job(self, job_id: int) -> Job:
        with self._engine.connect() as conn:
            found = _jobs(conn, automation_jobs.c.id == job_id)
        if not found:
            raise NotFound(f"no automation job {job_id}: `mloop agent jobs` lists them")
        return found[0]

    def jobs(
        self, policy: str | None = None, *, active: bool = False, project: str = "default"
    ) -> list[Job]:
        where = projects.c.name == project
        if policy is not None:
            where = sa.and_(where, automation_jobs.c.policy == policy)
        if active:
            states = [s.value for s in JobState if s.active]
            where = sa.and_(where, automation_jobs.c.state.in_(states))
        with self._engine.connect() as conn:
            return _jobs(conn, where)

    def last_job(self, policy: str, project: str = "default") -> Job | None:
        where = sa.and_(
            projects.c.name == project,
            automation_jobs.c.policy == policy,
            automation_jobs.c.state != JobState.SKIPPED.value,
        )
        with self._engine.connect() as conn:
            newest = conn.scalar(
                sa.select(sa.func.max(automation_jobs.c.id))
                .join(projects, projects.c.id == automation_jobs.c.project_id)
                .where(where)
            )
            if newest is None:
                return None
            return _jobs(conn, automation_jobs.c.id == newest)[0]

    def last_event_id(self, project: str = "default") -> int:
        with self._engine.connect() as conn:
            found = conn.scalar(
                sa.select(sa.func.max(automation_events.c.id))
                .join(projects, projects.c.id == automation_events.c.project_id)
                .where(projects.c.name == project)
            )
        return int(found or 0)

    def record(self, event: NewAutomationEvent, project: str = "default") -> AutomationEvent:
        _check_event(event)
        with self._writer.begin() as conn:
            event_id = _insert_event(conn, ensure_project(conn, project, event.created_at), event)
        return self.events(after=event_id - 1, project=project)[0]

    def events(
        self,
        policy: str | None = None,
        *,
        after: int = 0,
        job_id: int | None = None,
        project: str = "default",
    ) -> list[AutomationEvent]:
        where = sa.and_(projects.c.name == project, automation_events.c.id > after)
        if policy is not None:
            where = sa.and_(where, automation_events.c.policy == policy)
        if job_id is not None:
            where = sa.and_(where, automation_events.c.job_id == job_id)
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(automation_events)
                .join(projects, projects.c.id == automation_events.c.project_id)
                .where(where)
                .order_by(automation_events.c.id)
            ).all()
        return [
            AutomationEvent(
                r.id, r.policy, r.job_id, r.kind, r.message, r.details, r.user_name, r.created_at
            )
            for r in rows
        ]


def _one_active(conn: sa.Connection, project_id: int, policy: str) -> None:
    """Refuse a second active job of ``policy`` (under a lock, so two agents cannot
    both open one: SQLite's writer transactions are serial already)."""
    _serialise(conn, f"mloop.automation/{project_id}/{policy}")
    states = [s.value for s in JobState if s.active]
    running = conn.scalar(
        sa.select(automation_jobs.c.id).where(
            automation_jobs.c.project_id == project_id,
            automation_jobs.c.policy == policy,
            automation_jobs.c.state.in_(states),
        )
    )
    if running is not None:
        raise Conflict(f"policy {policy} has an active run already (job {running})")


def _serialise(conn: sa.Connection, key: str) -> None:
    """Let one transaction at a time past this point for ``key`` (SQLite's writer
    transactions are serial already; PostgreSQL takes an advisory lock until commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


class _Moved(Exception):
    """Another agent moved the cursor first: this transaction must not count."""


def _move(  # noqa: PLR0917 (the cursor's key, then its old and new value)
    conn: sa.Connection, project: str, policy: str, trigger: str, old: str, new: str
) -> None:
    project_id = sa.select(projects.c.id).where(projects.c.name == project).scalar_subquery()
    done = conn.execute(
        automation_cursors.update()
        .where(
            automation_cursors.c.project_id == project_id,
            automation_cursors.c.policy == policy,
            automation_cursors.c.trigger == trigger,
            automation_cursors.c.cursor == old,
        )
        .values(cursor=new)
    )
    if done.rowcount != 1:
        raise _Moved


def _check_event(event: NewAutomationEvent) -> None:
    validate.key("policy", event.policy)
    validate.key("event kind", event.kind)
    validate.key("user name", event.user)
    if not isinstance(event.message, str) or not isinstance(event.details, str):
        raise InvalidArgument("an automation event's message and details are text")


def _with_job(event: NewAutomationEvent, job_id: int) -> NewAutomationEvent:
    return NewAutomationEvent(
        event.policy, event.kind, event.message, event.details, event.user, event.created_at, job_id
    )


def _insert_event(conn: sa.Connection, project_id: int, event: NewAutomationEvent) -> int:
    result = conn.execute(
        automation_events.insert().values(
            project_id=project_id,
            policy=event.policy,
            job_id=event.job_id,
            kind=event.kind,
            message=event.message,
            details=event.details,
            user_name=event.user,
            created_at=event.created_at,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def _jobs(conn: sa.Connection, where: sa.ColumnElement[bool]) -> list[Job]:
    rows = conn.execute(
        sa.select(automation_jobs)
        .join(projects, projects.c.id == automation_jobs.c.project_id)
        .where(where)
        .order_by(automation_jobs.c.id)
    ).all()
    return [
        Job(
            r.id,
            r.policy,
            r.trigger,
            r.dedupe,
            JobState(r.state),
            r.data,
            r.created_at,
            r.updated_at,
        )
        for r in rows
    ]
