"""Registered breast-cancer models, and real scoring servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from mloop.tracking.client import Client
from servers import Registered, register_models


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a workspace, packages are extracted under $XDG_CACHE_HOME: keep it per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def fitted(cancer: tuple[pd.DataFrame, pd.Series]) -> dict[str, object]:
    X, y = cancer
    return {
        "gbc": GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y),
        "lr": LogisticRegression(C=0.01, max_iter=3000).fit(X, y),
    }


@pytest.fixture
def local(tmp_path: Path, sqlite_template: Path) -> Iterator[Client]:
    """A client on a fresh SQLite store and a local blob folder."""
    import shutil

    path = tmp_path / "mloop.db"
    shutil.copyfile(sqlite_template, path)
    with Client(f"sqlite:///{path}", blobs=str(tmp_path / "blobs")) as c:
        yield c


@pytest.fixture
def registered(
    local: Client, cancer: tuple[pd.DataFrame, pd.Series], fitted: dict[str, object]
) -> Registered:
    return register_models(local, cancer, fitted)
