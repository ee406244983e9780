"""Shared fixtures: a fresh, migrated metadata store on SQLite and on PostgreSQL.

PostgreSQL tests run against the server named by ``MLOOP_TEST_POSTGRES``
(``make test`` sets it). Without it they are skipped locally, but fail under CI,
where they must run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from files import bikes_csv
from mloop.store import upgrade_store
from mloop.tracking.client import Client

pytest_plugins = ["s3server"]

POSTGRES = os.environ.get("MLOOP_TEST_POSTGRES")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring servers keep their prediction journals under $XDG_STATE_HOME outside a
    workspace: keep them per test, not in the home folder."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "mloop.db"
    upgrade_store(f"sqlite:///{path}")
    return path


class PostgresServer:
    """Creates throwaway databases cloned from one migrated template."""

    def __init__(self, admin_uri: str) -> None:
        self.admin_uri = admin_uri
        self.engine = sa.create_engine(
            admin_uri.replace("postgresql://", "postgresql+psycopg://", 1),
            isolation_level="AUTOCOMMIT",
        )
        self.template = f"mloop_tpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def uri(self, name: str) -> str:
        base = self.admin_uri.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def create(self, template: str | None = None) -> str:
        name = f"mloop_test_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}{clause}")
        self.created.append(name)
        return name

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in reversed(self.created):
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("MLOOP_TEST_POSTGRES is not set: CI must run the PostgreSQL tests")
        pytest.skip("set MLOOP_TEST_POSTGRES=postgresql://user@127.0.0.1:5432/postgres to run")
    server = PostgresServer(POSTGRES)
    try:
        with server.engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES} is not reachable: {exc.orig}")
    template = server.create()
    upgrade_store(server.uri(template))
    server.template = template
    yield server
    server.drop_all()


def fresh_store_uri(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """The URI of a new, migrated, empty store on ``backend``."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / f"mloop-{uuid.uuid4().hex[:6]}.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.uri(server.create(template=server.template))


@pytest.fixture(params=BACKENDS)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_store_uri(request, request.param, tmp_path)


@pytest.fixture
def make_store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A factory of fresh store URIs, for tests that choose the backend themselves."""
    return lambda backend: fresh_store_uri(request, backend, tmp_path)


@pytest.fixture
def client(store_uri: str, tmp_path: Path) -> Iterator[Client]:
    with Client(store_uri, blobs=str(tmp_path / "blobs")) as c:
        yield c


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace folder made by `mloop init`, as the current directory."""
    from mloop.cli import main

    for name in ("MLOOP_URI", "MLOOP_BLOBS", "MLOOP_EXPERIMENT"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    with pytest.raises(SystemExit) as done:
        main(["init"])
    assert done.value.code in (0, None)
    return folder


@pytest.fixture(scope="session")
def bikes() -> pd.DataFrame:
    """The bike data sorted by day (the file's rows are shuffled)."""
    frame = pd.read_csv(bikes_csv())
    return frame.sort_values(["dteday", "hr"], kind="stable").reset_index(drop=True)
