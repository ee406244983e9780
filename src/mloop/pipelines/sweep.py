"""``mloop.sweep``: hyperparameter search with Optuna, every trial a tracked run.

    result = mloop.sweep(objective, {"c": log(1e-3, 10), "depth": (2, 8),
                                     "kernel": ["rbf", "linear"]},
                         n_trials=20, metric="auc", direction="maximize", executor="dask")
    result.best_params, result.best_value, result.best_run
    mloop.registry.register(result.best_model, "churn")     # when the objective gave a model

The study lives in the mloop database (Optuna's tables beside mloop's), so a sweep
can be continued by name. ``objective(**params)`` returns the metric, or a dict of
metrics (``metric`` names the one to optimise) that may also hold the trained
``"model"``, which is then logged with its trial. Trials run one at a time
(``local``) or as Dask tasks, as many at once as there are workers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mloop.errors import BackendUnavailable, InvalidArgument
from mloop.pipelines.step import Step
from mloop.store import RunStatus
from mloop.tracking.client import Client
from mloop.tracking.fluent import client_for, default_client

EXPERIMENT = "sweeps"
SWEEP_TAG = "mloop.sweep"
TRIAL_TAG = "mloop.sweep.trial"
BEST_TAG = "mloop.sweep.best"


@dataclass(frozen=True, slots=True)
class LogUniform:
    low: float
    high: float


def log(low: float, high: float) -> LogUniform:
    """A float searched on a log scale, e.g. ``log(1e-4, 1.0)`` for a learning rate."""
    return LogUniform(low, high)


@dataclass(frozen=True)
class SweepResult:
    name: str
    best_params: dict[str, Any]
    best_value: float
    best_run: str
    best_model: str | None
    """``runs:/RUN/model`` of the best trial's model, when the objective returned one."""
    trials: int
    parent_run: str


@dataclass(frozen=True)
class _Trial:
    number: int
    params: dict[str, Any]
    parent_run: str
    sweep: str
    uri: str
    blobs: str | None


def sweep(
    objective: Callable[..., Any] | Step,
    space: Mapping[str, Any],
    *,
    n_trials: int,
    metric: str | None = None,
    direction: str = "maximize",
    executor: str = "local",
    name: str | None = None,
    seed: int = 0,
    client: Client | None = None,
) -> SweepResult:
    """Search ``space`` for the ``objective`` parameters that optimise ``metric``."""
    optuna = _optuna()
    fn = objective.fn if isinstance(objective, Step) else objective
    _check(fn, space, n_trials, direction)
    distributions = {k: _distribution(optuna, k, v) for k, v in space.items()}
    client = client or default_client()
    name = name or f"{fn.__module__}.{fn.__qualname__}"
    storage = client.store.study_storage()
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=direction,
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    parent = client.create_run(EXPERIMENT, name=name, tags={SWEEP_TAG: name})
    settings = client.settings
    run_one = functools.partial(run_trial, fn, metric)

    def make(trial: Any) -> _Trial:
        return _Trial(trial.number, trial.params, parent.id, name, settings.uri, settings.blobs)

    try:
        if executor == "local":
            for _ in range(n_trials):
                trial = study.ask(distributions)
                _tell(study, trial, run_one, make(trial))
        else:
            _on_dask(study, distributions, run_one, make, n_trials=n_trials, executor=executor)
        best = study.best_trial
    except BaseException:
        client.end_run(parent.id, RunStatus.FAILED)
        raise
    best_run = str(best.user_attrs["run_id"])
    client.set_tags(best_run, {BEST_TAG: "true"})
    client.log_params(parent.id, {f"best.{k}": v for k, v in best.params.items()})
    client.log_metric(parent.id, f"best.{metric or 'value'}", float(best.value))
    client.end_run(parent.id, RunStatus.FINISHED)
    model = best.user_attrs.get("model")
    return SweepResult(
        name,
        dict(best.params),
        float(best.value),
        best_run,
        None if model is None else str(model),
        n_trials,
        parent.id,
    )


def run_trial(fn: Callable[..., Any], metric: str | None, task: _Trial) -> dict[str, Any]:
    """One trial as a child run of the sweep: its params, its metrics, its model."""
    from mloop.models.log import log_model

    client = client_for(task.uri, task.blobs)
    run = client.create_run(
        EXPERIMENT,
        name=f"trial {task.number}",
        parent_id=task.parent_run,
        capture_env=False,
        tags={SWEEP_TAG: task.sweep, TRIAL_TAG: str(task.number)},
    )
    client.log_params(run.id, task.params)
    try:
        found = fn(**task.params)
        model = found.pop("model", None) if isinstance(found, dict) else None
        value = _value(found, metric)
        metrics = found if isinstance(found, dict) else {metric or "value": value}
        for key, number in metrics.items():
            client.log_metric(run.id, key, float(number))
        uri = None if model is None else log_model(client, run.id, model).uri
    except BaseException:
        client.end_run(run.id, RunStatus.FAILED)
        raise
    client.end_run(run.id, RunStatus.FINISHED)
    return {"value": value, "run_id": run.id, "model": uri}


def _value(found: Any, metric: str | None) -> float:
    if isinstance(found, dict):
        if metric is None or metric not in found:
            raise InvalidArgument(
                f"the objective returned the metrics {sorted(found)}: say which to optimise "
                "with metric=..."
            )
        found = found[metric]
    value = float(found)
    if not math.isfinite(value):
        raise InvalidArgument(f"the objective returned {value}: a metric must be finite")
    return value


def _tell(
    study: Any, trial: Any, run_one: Callable[[_Trial], dict[str, Any]], task: _Trial
) -> None:
    result = run_one(task)
    for key in ("run_id", "model"):
        trial.set_user_attr(key, result[key])
    study.tell(trial, result["value"])


def _on_dask(
    study: Any,
    distributions: dict[str, Any],
    run_one: Callable[[_Trial], Any],
    make: Callable[[Any], _Trial],
    *,
    n_trials: int,
    executor: str,
) -> None:
    """Keep one trial per worker running; ask for the next as each one ends."""
    from distributed import as_completed

    from mloop.pipelines.executors import DaskExecutor

    dask = DaskExecutor(None if executor == "dask" else executor)
    try:
        workers = max(1, len(dask.client.scheduler_info()["workers"]))
        pending: dict[Any, Any] = {}

        def submit() -> Any:
            trial = study.ask(distributions)
            future = dask.client.submit(run_one, make(trial), pure=False)
            pending[future] = trial
            return future

        running = as_completed([submit() for _ in range(min(workers, n_trials))])
        asked = len(pending)
        for future in running:
            trial = pending.pop(future)
            result = future.result()
            for key in ("run_id", "model"):
                trial.set_user_attr(key, result[key])
            study.tell(trial, result["value"])
            if asked < n_trials:
                running.add(submit())
                asked += 1
    finally:
        dask.close()


def _check(fn: Any, space: Mapping[str, Any], n_trials: int, direction: str) -> None:
    if not callable(fn):
        raise InvalidArgument("the objective is a function of the searched parameters")
    if not isinstance(space, Mapping) or not space:
        raise InvalidArgument(
            "the search space is a dict: name → (low, high), log(...) or [choices]"
        )
    if not isinstance(n_trials, int) or not 1 <= n_trials <= 100_000:
        raise InvalidArgument("n_trials is a whole number from 1 to 100,000")
    if direction not in ("maximize", "minimize"):
        raise InvalidArgument(f"direction is maximize or minimize, got {direction!r}")


def _distribution(optuna: Any, name: str, spec: Any) -> Any:
    d = optuna.distributions
    if isinstance(spec, LogUniform):
        if not 0 < spec.low < spec.high:
            raise InvalidArgument(f"{name}: log(low, high) needs 0 < low < high")
        return d.FloatDistribution(spec.low, spec.high, log=True)
    if isinstance(spec, list) and spec:
        return d.CategoricalDistribution(spec)
    if isinstance(spec, tuple) and len(spec) == 2:
        low, high = spec
        if not low < high:
            raise InvalidArgument(f"{name}: a range (low, high) needs low < high")
        if isinstance(low, int) and isinstance(high, int):
            return d.IntDistribution(low, high)
        return d.FloatDistribution(float(low), float(high))
    raise InvalidArgument(
        f"{name}: {spec!r} is not a search range: use (low, high), log(low, high) or [choices]"
    )


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise BackendUnavailable("sweeps need Optuna: pip install 'mloop[sweeps]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna
