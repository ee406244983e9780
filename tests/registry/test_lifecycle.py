"""The model lifecycle on real data with a sensitive attribute (ACS employment, Massachusetts):
train two models, register both, gate the second against the first with a fairness check,
promote on pass, roll back, and ask the alias history who was champion when."""

from __future__ import annotations

import json
import time
from importlib.util import find_spec
from pathlib import Path

import lightgbm
import pandas as pd
import pytest

import mloop
from mloop.cli import main
from mloop.errors import CHECKS_FAILED
from mloop.evaluation.record import evaluate
from mloop.registry import Registry
from mloop.store.entities import now_ms

pytestmark = pytest.mark.slow

FEATURES = ["AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC"]
FEATURES += ["NATIVITY", "DEAR", "DEYE", "DREM", "SEX", "RAC1P"]


def acs() -> pd.DataFrame:
    spec = find_spec("nannyml")
    assert spec is not None and spec.submodule_search_locations
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    frame = pd.read_parquet(folder / "employment_MA_reference.pq")
    return frame[[*FEATURES, "employed"]].sample(n=12_000, random_state=7).reset_index(drop=True)


def train(frame: pd.DataFrame, trees: int, leaves: int) -> lightgbm.LGBMClassifier:
    model = lightgbm.LGBMClassifier(
        n_estimators=trees, num_leaves=leaves, learning_rate=0.1, verbose=-1, random_state=0
    )
    return model.fit(frame[FEATURES], frame["employed"])


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code or 0


def pause() -> int:
    """A moment strictly between two alias moves."""
    time.sleep(0.01)
    moment = now_ms()
    time.sleep(0.01)
    return moment


def test_train_register_gate_promote_roll_back(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = acs()
    mloop.data.add(frame.iloc[:8_000], name="employment-train")
    mloop.data.add(frame.iloc[8_000:], name="employment-test")
    infos = []
    for trees, leaves in ((3, 2), (120, 31)):
        with mloop.start_run(experiment="employment"):
            train_frame = mloop.data.get("employment-train", role="train")
            model = train(train_frame, trees, leaves)
            mloop.log_params({"n_estimators": trees, "num_leaves": leaves})
            infos.append(mloop.models.log(model, input_example=train_frame[FEATURES].head(5)))
    registry = Registry(mloop.Client())
    first = registry.register(infos[0], "employment", description="a stump")
    second = registry.register(infos[1].uri, "employment")
    assert (first.version, second.version, first.flavor) == (1, 2, "lightgbm")

    before_any = pause()
    registry.promote("employment/1", reason="first model")
    while_first = pause()

    found = evaluate(
        "models:/employment/2",
        "employment-test",
        target="employed",
        task="classification",
        baseline="models:/employment@champion",
        sensitive=["SEX"],
        gates=["roc_auc>=+0.01", "demographic_parity_difference<=0.25"],
    )
    assert found.passed, found.reasons
    assert found.baseline is not None and found.baseline.version == 1
    assert found.data is not None and found.data.ref == "employment-test@1"
    auc_gain = found.result.candidate["roc_auc"] - found.result.baseline["roc_auc"]  # type: ignore[index,operator]
    assert auc_gain >= 0.01
    sex = found.result.fairness[0]
    assert {g.group for g in sex.candidate.groups} == {"1", "2"}

    registry.promote("employment/2", reason=found.summary())
    while_second = pause()
    registry.rollback("employment", reason="complaints after the switch")
    after_rollback = pause()

    answers = [
        registry.version_at("employment", "champion", t)
        for t in (before_any, while_first, while_second, after_rollback)
    ]
    assert [None if v is None else v.version for v in answers] == [None, 1, 2, 1]
    assert registry.model("employment").aliases == {"champion": 1}

    lineage = registry.lineage("employment@champion")
    assert lineage.run is not None and lineage.run.params["n_estimators"] == "3"
    assert [(i.role, i.version.ref) for i in lineage.inputs] == [("train", "employment-train@1")]

    # The same from the command line: history at a time, lineage, card, and a failing gate.
    capsys.readouterr()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(while_second / 1000))
    assert (
        cli(
            "models",
            "history",
            "employment",
            "--at",
            f"{stamp}.{while_second % 1000:03d}",
            "--json",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["aliases"] == {"champion": 2}
    assert cli("models", "lineage", "employment@champion") == 0
    out = capsys.readouterr().out
    assert "employment-train@1" in out and "n_estimators=3" in out
    code = cli(
        "models",
        "evaluate",
        "employment/1",
        "--data",
        "employment-test",
        "-y",
        "employed",
        "-b",
        "employment/2",
        "--gate",
        "roc_auc>=+0.01",
    )
    assert code == CHECKS_FAILED
    assert "FAILED" in capsys.readouterr().out
    assert cli("models", "card", "employment/2", "--intended-use", "Research only.") == 0
    card = capsys.readouterr().out
    assert "Research only." in card and "demographic parity difference" in card
    assert "employment-train@1" in card and "Not stated by the owner." in card
