"""``mloop.evaluate``: load the models, read the data version, measure, judge, and record.

    result = mloop.evaluate(
        "models:/churn/4", "employment@2", target="employed", task="classification",
        baseline="models:/churn@champion", sensitive=["SEX"],
        gates=["roc_auc>=+0.005", "demographic_parity_difference<=0.1"],
    )
    if result.passed:
        mloop.registry.promote("churn/4", reason=result.summary())

The evaluation is stored with links to the candidate and baseline versions (when
they are registered) and the data version (when the data is one), so a model
card and the lineage can show it later.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mloop.data.client import DataClient
from mloop.errors import InvalidArgument
from mloop.evaluation.evaluate import evaluate_predictors
from mloop.evaluation.gates import Gates
from mloop.evaluation.predictor import Task
from mloop.evaluation.result import EvaluationResult
from mloop.models.load import LoadedModel, load
from mloop.models.refs import is_model_uri, resolve_version
from mloop.store import DatasetVersion, Evaluation, ModelVersion, NewEvaluation
from mloop.store.entities import now_ms
from mloop.tracking.client import Client
from mloop.tracking.fluent import active_run, default_client


@dataclass(frozen=True, slots=True)
class RecordedEvaluation:
    """An evaluation as stored (``record``) with its full ``result``."""

    record: Evaluation
    result: EvaluationResult
    candidate: ModelVersion | None
    baseline: ModelVersion | None
    data: DatasetVersion | None

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def reasons(self) -> list[str]:
        return self.result.reasons

    def summary(self) -> str:
        return self.result.summary()


def evaluate(
    candidate: Any,
    data: str | DatasetVersion | pd.DataFrame,
    *,
    target: str,
    task: Task,
    baseline: Any = None,
    slices: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    gates: Gates | Sequence[str] | str | None = None,
    importance: bool = True,
    seed: int = 0,
    client: Client | None = None,
) -> RecordedEvaluation:
    """Evaluate ``candidate`` (and ``baseline``) on ``data`` and record the result.

    ``candidate`` and ``baseline`` are model URIs (``models:/churn/4``,
    ``models:/churn@champion``, ``runs:/RUN/model``) or what ``mloop.models.log``
    returned; ``data`` is a dataset version (``employment@2``) or a DataFrame.
    See :func:`mloop.evaluation.evaluate_predictors` for the rest.
    """
    if client is None:
        run = active_run()
        client = run.client if run is not None else default_client()
    ours, our_version = _model(client, candidate, "candidate")
    theirs, their_version = (
        (None, None) if baseline is None else _model(client, baseline, "baseline")
    )
    frame, data_version = _data(client, data)
    result = evaluate_predictors(
        ours,
        frame,
        target,
        task=task,
        baseline=theirs,
        slices=slices,
        sensitive=sensitive,
        gates=gates,
        importance=importance,
        seed=seed,
    )
    record = client.store.evaluations.add(
        NewEvaluation(
            candidate=str(ours.digest),
            candidate_version_id=None if our_version is None else our_version.id,
            baseline_version_id=None if their_version is None else their_version.id,
            dataset_version_id=None if data_version is None else data_version.id,
            task=task,
            passed=result.passed,
            result=json.dumps(result.to_dict(), allow_nan=False),
            user=client.settings.user,
            created_at=now_ms(),
        )
    )
    return RecordedEvaluation(record, result, our_version, their_version, data_version)


def _model(client: Client, ref: Any, role: str) -> tuple[LoadedModel, ModelVersion | None]:
    uri = getattr(ref, "uri", ref)
    if not isinstance(uri, str):
        raise InvalidArgument(
            f"the {role} is a model URI (models:/NAME/N, runs:/RUN/PATH) or what "
            f"mloop.models.log returned, got {type(ref).__name__}"
        )
    if not is_model_uri(uri):
        loaded = load(uri, client=client)
        if loaded.digest is None:
            raise InvalidArgument(
                f"the {role} {uri!r} is a local folder: evaluate a stored package "
                "(models:/NAME/N or runs:/RUN/PATH) so the evaluation can name it"
            )
        return loaded, None
    version = resolve_version(client.store, uri)  # an alias is read once: both agree
    return load(version.package, client=client), version


def _data(
    client: Client, data: str | DatasetVersion | pd.DataFrame
) -> tuple[pd.DataFrame, DatasetVersion | None]:
    if isinstance(data, pd.DataFrame):
        return data, None
    if not isinstance(data, str | DatasetVersion):
        raise InvalidArgument(
            f"data is a dataset version (NAME@N) or a DataFrame, got {type(data).__name__}"
        )
    datasets = DataClient(client)
    try:
        version = datasets.version(data)
        frame = datasets.get(version)
    finally:
        datasets.close()
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"{version.ref} is not tabular data: evaluation needs a table")
    return frame, version
