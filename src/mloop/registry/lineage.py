"""The chain behind a model version: run, code commit, data versions, params, environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from mloop.errors import NotFound
from mloop.store import Evaluation, ModelVersion, Run, RunInput
from mloop.tracking import capture
from mloop.tracking.client import Client

_CODE_TAGS = {
    "commit": capture.GIT_COMMIT,
    "branch": capture.GIT_BRANCH,
    "dirty": capture.GIT_DIRTY,
    "command": capture.COMMAND,
}
_ENV_TAGS = {"python": capture.PYTHON, "platform": capture.PLATFORM, "host": capture.HOST}


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a model version came from. ``run`` is None when it was registered without one
    (or its run is gone); every other field is then empty: unknown, never guessed."""

    version: ModelVersion
    run: Run | None
    experiment: str | None
    code: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    inputs: list[RunInput] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)


def lineage(client: Client, version: ModelVersion) -> Lineage:
    evaluations = client.store.evaluations.of_version(version.id)
    if version.run_id is None:
        return Lineage(version, None, None, evaluations=evaluations)
    try:
        run = client.store.runs.get(version.run_id)
    except NotFound:
        return Lineage(version, None, None, evaluations=evaluations)
    return Lineage(
        version=version,
        run=run,
        experiment=client.store.experiments.get(run.experiment_id).name,
        code=_pick(run, _CODE_TAGS),
        environment=_pick(run, _ENV_TAGS),
        inputs=client.store.datasets.run_inputs(run.id),
        evaluations=evaluations,
    )


def _pick(run: Run, names: dict[str, str]) -> dict[str, str]:
    return {label: run.tags[tag] for label, tag in names.items() if tag in run.tags}
