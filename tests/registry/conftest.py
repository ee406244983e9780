"""Two small logged models of the breast-cancer data, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from mloop.models import ModelInfo, log_model
from mloop.registry import Registry
from mloop.tracking.client import Client


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a workspace, packages are extracted under $XDG_CACHE_HOME: keep it per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture
def logged(client: Client, cancer: tuple[pd.DataFrame, pd.Series]) -> list[ModelInfo]:
    """Two runs, each logging a logistic regression with a different regularisation."""
    X, y = cancer
    infos = []
    for c in (0.01, 1.0):
        run = client.create_run(capture_env=False)
        client.log_params(run.id, {"C": c})
        client.log_metric(run.id, "auc", 0.9 + c / 100)
        model = LogisticRegression(C=c, max_iter=3000).fit(X, y)
        infos.append(log_model(client, run.id, model, input_example=X.head(3)))
    return infos


@pytest.fixture
def registry(client: Client) -> Registry:
    return Registry(client)
