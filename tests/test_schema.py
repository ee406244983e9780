"""The store refuses databases it cannot use, with a message that says what to do."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mloop.errors import NotAnMloopDatabase, NotFound, SchemaMismatch
from mloop.store import open_store, upgrade_store
from mloop.store.sql.schema import KNOWN_REVISIONS, SCHEMA_HEAD, VERSION_TABLE


def _engine(uri: str) -> sa.Engine:
    return sa.create_engine(uri.replace("postgresql://", "postgresql+psycopg://", 1))


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(NotAnMloopDatabase, match="not an mloop database"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_a_foreign_sqlite_database_is_refused_naming_its_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(NotAnMloopDatabase, match="customers"):
        open_store(f"sqlite:///{path}")
    with pytest.raises(NotAnMloopDatabase):
        upgrade_store(f"sqlite:///{path}")  # never migrates someone else's database


def test_a_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="mloop init"):
        open_store(f"sqlite:///{tmp_path / 'absent.db'}")
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_newer_schema_is_refused_by_an_older_client(
    make_store_uri: Callable[[str], str], backend: str
) -> None:
    uri = make_store_uri(backend)
    engine = _engine(uri)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(
        SchemaMismatch, match=r"revision 9999, written by a newer mloop.*upgrade mloop"
    ):
        open_store(uri)
    with pytest.raises(SchemaMismatch, match="newer mloop"):
        upgrade_store(uri)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_empty_database_asks_for_an_upgrade_then_works(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        path = tmp_path / "empty.db"
        sqlite3.connect(path).close()
        uri = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("postgres")
        uri = server.uri(server.create())
    with pytest.raises(SchemaMismatch) as error:
        open_store(uri)
    assert f"run `mloop --uri {uri} db upgrade`" in str(error.value)
    assert upgrade_store(uri) == (None, SCHEMA_HEAD)
    assert upgrade_store(uri) == (SCHEMA_HEAD, SCHEMA_HEAD)  # idempotent
    open_store(uri).close()


def test_known_revisions_match_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    from mloop.store.sql import migrate

    scripts = ScriptDirectory(str(migrate._MIGRATIONS))
    assert scripts.get_current_head() == SCHEMA_HEAD
    assert {s.revision for s in scripts.walk_revisions()} == set(KNOWN_REVISIONS)


def test_unreachable_postgres_is_backend_unavailable() -> None:
    from mloop.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1:1"):
        open_store("postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2")


def test_refusing_a_foreign_database_does_not_change_it(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(NotAnMloopDatabase):
        open_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.postgres
def test_a_database_that_goes_away_is_backend_unavailable(postgres: Any) -> None:
    from mloop.errors import BackendUnavailable

    name = postgres.create(template=postgres.template)
    store = open_store(postgres.uri(name))
    experiment = store.experiments.ensure("e")
    with postgres.engine.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    with pytest.raises(BackendUnavailable, match=name):
        store.runs.create(experiment.id, name=None, user="u", start_time=0)
    store.close()


@pytest.mark.parametrize("uri", ["postgresql://u@[::1/x", "mysql://h/db", "not a uri://x"])
def test_malformed_or_unsupported_uris_are_invalid(uri: str) -> None:
    from mloop.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        open_store(uri)


def test_driver_qualified_uris_are_accepted(make_store_uri: Callable[[str], str]) -> None:
    uri = make_store_uri("sqlite").replace("sqlite://", "sqlite+pysqlite://", 1)
    open_store(uri).close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_an_older_schema_is_upgraded_keeping_its_data(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    from alembic import command
    from alembic.config import Config

    from mloop.store.sql import migrate

    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        server = request.getfixturevalue("postgres")
        uri = server.uri(server.create())
    engine = _engine(uri)
    config = Config()
    config.set_main_option("script_location", str(migrate._MIGRATIONS))
    with engine.begin() as conn:  # a database made by the first release of the schema
        config.attributes["connection"] = conn
        command.upgrade(config, KNOWN_REVISIONS[0])
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('default', 0)"))
    engine.dispose()
    with pytest.raises(SchemaMismatch, match=f"needs {SCHEMA_HEAD}.*db upgrade"):
        open_store(uri)
    assert upgrade_store(uri) == (KNOWN_REVISIONS[0], SCHEMA_HEAD)
    store = open_store(uri)
    experiment = store.experiments.ensure("kept", project="default")
    assert experiment.project_id == 1  # the old row is still there and used
    store.close()


def test_an_upgrade_moves_a_monitors_baseline_out_of_its_settings(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from mloop.store.sql import migrate
    from mloop.store.sql.engine import create_engine

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}", create=True)
    config = Config()
    config.set_main_option("script_location", str(migrate._MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")  # a store written before the column existed
    engine.dispose()
    digest = "ab" * 32
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO monitors (project_id, name, deployment_id, reference, "
            "reference_version_id, window, settings, user_name, created_at) "
            "VALUES (1, 'm', 1, 'd@1', 1, '1h', ?, 'me', 0)",
            (f'{{"drift_share": 0.5, "baseline": "{digest}"}}',),
        )
    upgrade_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT baseline FROM monitors").fetchall() == [(digest,)]


NEXT_REVISION = f"{int(SCHEMA_HEAD) + 1:04d}"
NEWER_MIGRATION = f'''"""One revision more than this mloop knows, as a later mloop adds it."""

import sqlalchemy as sa
from alembic import op

revision = "{NEXT_REVISION}"
down_revision = "{SCHEMA_HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("added_later", sa.Text))
'''


def _upgrade_as_a_newer_mloop(
    uri: str, tmp_path: Path, before_commit: Callable[[], None] = lambda: None
) -> None:
    """What `mloop db upgrade` of a later mloop does: its migrations, one more than ours,
    in one transaction; ``before_commit`` runs while that transaction holds its locks."""
    import shutil

    from alembic import command
    from alembic.config import Config

    from mloop.store.sql import migrate
    from mloop.store.sql.engine import create_engine

    scripts = tmp_path / "newer-migrations"
    shutil.copytree(migrate._MIGRATIONS, scripts)
    (scripts / "versions" / f"{NEXT_REVISION}_later.py").write_text(NEWER_MIGRATION)
    config = Config()
    config.set_main_option("script_location", str(scripts))
    engine = create_engine(uri)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        before_commit()
    engine.dispose()


NEWER = rf"revision {NEXT_REVISION}, written by a newer mloop.*upgrade mloop"


def test_a_store_opened_before_a_newer_upgrade_stops_writing(
    store_uri: str, tmp_path: Path
) -> None:
    """A program still running this mloop while a later one upgrades the database must
    not go on writing with what it knows of the schema: every write is refused."""
    from mloop.store import MetricPoint, RunQuery

    store = open_store(store_uri)
    experiment = store.experiments.ensure("running")
    run = store.runs.create(experiment.id, name="before", user="ada", start_time=1)
    _upgrade_as_a_newer_mloop(store_uri, tmp_path)
    writes: list[Callable[[], object]] = [
        lambda: store.runs.create(experiment.id, name="after", user="ada", start_time=2),
        lambda: store.runs.log_metrics(run.id, [MetricPoint("loss", 0.5, 0, 3)]),
        lambda: store.runs.set_tags(run.id, {"after": "upgrade"}),
        lambda: store.experiments.ensure("new"),
    ]
    for write in writes:
        with pytest.raises(SchemaMismatch, match=NEWER):
            write()
    assert [r.name for r in store.runs.search(RunQuery()).items] == ["before"]
    assert store.runs.get(run.id).metrics == {} and store.runs.get(run.id).tags == {}
    store.close()


def test_a_write_that_waited_for_an_upgrade_is_refused_after_it(
    store_uri: str, tmp_path: Path
) -> None:
    """A write that began while the upgrade ran, and waited for its locks, is checked
    again once it can go on: it would otherwise land with the old semantics."""
    import threading
    import time

    store = open_store(store_uri)
    experiment = store.experiments.ensure("running")
    outcome: list[object] = []

    def write() -> None:
        try:
            outcome.append(store.runs.create(experiment.id, name="x", user="ada", start_time=1))
        except Exception as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)

    def while_upgrading() -> None:
        writer.start()
        time.sleep(1)
        assert writer.is_alive(), "the write did not wait for the upgrade"

    _upgrade_as_a_newer_mloop(store_uri, tmp_path, while_upgrading)
    writer.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], SchemaMismatch), outcome
    assert NEXT_REVISION in str(outcome[0])
    engine = _engine(store_uri)
    with engine.connect() as conn:  # nothing was written
        assert conn.execute(sa.text("SELECT count(*) FROM runs")).scalar() == 0
    engine.dispose()
    store.close()
