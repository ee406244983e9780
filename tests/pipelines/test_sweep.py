"""Sweeps: Optuna studies in the mloop database, every trial a run, parallel on Dask."""

from __future__ import annotations

import pytest

import flows
import mloop
from mloop.errors import InvalidArgument
from mloop.pipelines import log
from mloop.registry import Registry
from mloop.tracking.client import Client

SPACE = {"x": (0.0, 5.0), "y": (0, 6), "kind": ["a", "b"]}


def test_twenty_trials_on_two_dask_workers_find_the_best(client: Client, scheduler: str) -> None:
    result = mloop.sweep(
        flows.quadratic, SPACE, n_trials=20, executor=scheduler, seed=3, client=client
    )
    assert result.trials == 20 and result.best_params["kind"] == "b"
    assert result.best_params["y"] == 3 and abs(result.best_params["x"] - 2) < 0.75
    assert result.best_value > 0.4
    trials = client.search_runs(
        f"attributes.parent_id = '{result.parent_run}'", max_results=100
    ).items
    assert len(trials) == 20
    best = [t for t in trials if t.tags.get("mloop.sweep.best") == "true"]
    assert [t.id for t in best] == [result.best_run]
    assert best[0].metrics["value"] == pytest.approx(result.best_value)


def test_the_best_model_can_be_registered(client: Client) -> None:
    result = mloop.sweep(
        flows.fit_c,
        {"c": log(1e-4, 10.0)},
        n_trials=6,
        metric="accuracy",
        client=client,
        name="fit-c",
    )
    version = Registry(client).register(result.best_model, "sweep-best")
    assert version.run_id == result.best_run and version.version == 1
    again = mloop.sweep(
        flows.fit_c,
        {"c": log(1e-4, 10.0)},
        n_trials=2,
        metric="accuracy",
        client=client,
        name="fit-c",
    )  # the same study continues
    assert again.best_value >= result.best_value


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"space": {}}, "search space"),
        ({"space": {"x": (5.0, 1.0)}}, "low < high"),
        ({"space": {"x": "wide"}}, "not a search range"),
        ({"space": {"c": log(0.0, 1.0)}}, "0 < low"),
        ({"n_trials": 0}, "n_trials"),
        ({"direction": "up"}, "maximize or minimize"),
    ],
)
def test_bad_sweeps_are_refused_before_any_trial(
    client: Client, kwargs: dict[str, object], words: str
) -> None:
    settings: dict[str, object] = {"space": SPACE, "n_trials": 3}
    settings.update(kwargs)
    with pytest.raises(InvalidArgument, match=words):
        mloop.sweep(flows.quadratic, client=client, **settings)  # type: ignore[arg-type]
    assert client.search_runs(max_results=10).items == []


def test_an_objective_with_several_metrics_names_one(client: Client) -> None:
    with pytest.raises(InvalidArgument, match="say which to optimise"):
        mloop.sweep(flows.fit_c, {"c": (0.1, 1.0)}, n_trials=1, client=client)
