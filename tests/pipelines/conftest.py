"""A Dask LocalCluster on 127.0.0.1 for the pipeline tests, and a fresh store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mloop.tracking.client import Client

TESTS = str(Path(__file__).resolve().parent.parent)


@pytest.fixture(scope="session")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (TESTS, before) if p
    )  # workers import flows
    try:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        )
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = before
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture
def client(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    import shutil

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = tmp_path / "mloop.db"
    shutil.copyfile(sqlite_template, path)
    with Client(f"sqlite:///{path}", blobs=str(tmp_path / "blobs")) as c:
        yield c
