"""A deployment of a bike-demand model trained on 2011, and 2012 traffic for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import pytest

from bikemodel import FEATURES, TARGET, Bikes
from bikemodel import typed as typed_frame
from mloop.data.client import DataClient
from mloop.models import log_model
from mloop.registry import Registry
from mloop.serving import Deployments
from mloop.tracking.client import Client


@pytest.fixture(scope="session")
def bike_years(bikes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = pd.to_datetime(bikes["dteday"])
    typed = typed_frame(bikes)
    return typed[dates.dt.year == 2011].reset_index(drop=True), typed[
        dates.dt.year == 2012
    ].reset_index(drop=True)


@pytest.fixture
def deployed(
    tmp_path: Path,
    sqlite_template: Path,
    bike_years: tuple[pd.DataFrame, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Bikes]:
    import shutil

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = tmp_path / "mloop.db"
    shutil.copyfile(sqlite_template, path)
    reference, later = bike_years
    with Client(f"sqlite:///{path}", blobs=str(tmp_path / "blobs")) as client:
        DataClient(client).add(reference, "bikes", message="2011")
        model = lgb.LGBMRegressor(n_estimators=60, verbose=-1).fit(
            reference[FEATURES], reference[TARGET]
        )
        run = client.create_run(capture_env=False)
        info = log_model(client, run.id, model, input_example=reference[FEATURES].head(5))
        registry = Registry(client)
        registry.register(info.uri, "bikes")
        registry.promote("bikes/1")
        Deployments(client).create("bikes-api", "models:/bikes@champion")
        yield Bikes(client, reference, later)
