"""Reading automation policies from mloop.yaml: values, defaults, and errors that name
the file, the line and the key."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from mloop.automation.policy import Gate, Policy, Rebase, Rollout, Trigger
from mloop.automation.policyfile import POLICY_FILE, PolicyFileError, load_policy_file
from mloop.errors import InvalidArgument

FULL = """\
policies:
  - name: bikes-retrain
    pipeline: bikes_pipeline:training   # module:function
    model: bikes
    deployment: bikes-api
    params: {data: bikes@latest, seed: 0}
    triggers:
      - drift: bikes-watch
      - decay: bikes-watch
      - new_data: bikes
      - schedule: "0 3 * * 1"
      - manual
    gate:
      data: bikes-holdout@latest
      target: cnt
      task: regression
      rules: ["mae<=+0"]
      sensitive: []
      validate: false
    rollout:
      strategy: canary
      steps: [10, 50, 100]
      watch: 10m
      guards: ["mae<=+5", "latency_p95_ms<=50"]
      min_rows: 20
      after: 0
    cooldown: 1h
"""

# Lines 1 to 5; a case's text continues at line 6, indented as a policy's keys.
HEAD = """\
policies:
  - name: a
    pipeline: m:f
    model: m
    deployment: d
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / POLICY_FILE
    path.write_text(text, encoding="utf-8")
    return path


def policy(tmp_path: Path, rest: str = "") -> Policy:
    """The policy of HEAD with the keys ``rest`` added."""
    (loaded,) = load_policy_file(write(tmp_path, HEAD + textwrap.indent(rest, "    ")))
    return loaded


def test_full_file_round_trips(tmp_path: Path) -> None:
    (loaded,) = load_policy_file(write(tmp_path, FULL))
    assert loaded == Policy(
        "bikes-retrain",
        pipeline="bikes_pipeline:training",
        model="bikes",
        deployment="bikes-api",
        params={"data": "bikes@latest", "seed": 0},
        triggers=(
            Trigger.drift("bikes-watch"),
            Trigger.decay("bikes-watch"),
            Trigger.new_data("bikes"),
            Trigger.schedule("0 3 * * 1"),
            Trigger("manual"),
        ),
        gate=Gate("bikes-holdout@latest", "cnt", "regression", rules=("mae<=+0",), validate=False),
        rollout=Rollout(
            "canary",
            steps=(10, 50, 100),
            watch="10m",
            guards=("mae<=+5", "latency_p95_ms<=50"),
            min_rows=20,
            after="0",
        ),
        cooldown="1h",
    )
    assert isinstance(loaded.triggers, tuple)
    assert isinstance(loaded.rollout.steps, tuple)
    assert isinstance(loaded.gate.rules if loaded.gate else None, tuple)


def test_minimal_policy_gets_defaults(tmp_path: Path) -> None:
    loaded = policy(tmp_path)
    assert loaded == Policy("a", pipeline="m:f", model="m", deployment="d")
    assert (loaded.triggers, loaded.params, loaded.gate) == ((), {}, None)
    assert loaded.rollout == Rollout()
    assert loaded.cooldown == "0"


def test_empty_optional_keys_take_defaults(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "triggers:\nparams:\ngate:\nrollout:\n  watch:\ncooldown:\n")
    assert loaded == Policy("a", pipeline="m:f", model="m", deployment="d")


def test_bare_manual_trigger(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "triggers:\n  - manual\n  - {drift: w}\n")
    assert loaded.triggers == (Trigger("manual"), Trigger.drift("w"))


def test_numeric_durations_are_seconds(tmp_path: Path) -> None:
    loaded = policy(tmp_path, "rollout: {watch: 30, after: 0}\ncooldown: 90.5\n")
    assert (loaded.rollout.watch, loaded.rollout.after, loaded.cooldown) == ("30s", "0", "90.5s")
    assert loaded.rollout.watch_ms == 30_000
    assert loaded.cooldown_ms == 90_500


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    text = """\
    policies:
      - &base
        name: a
        pipeline: m:f
        model: m
        deployment: d
        params: &params {data: x@latest}
        rollout: &slow {strategy: canary, watch: 1h}
      - <<: *base
        name: b
        params: *params
        rollout: {<<: *slow, watch: 2h}
    """
    first, second = load_policy_file(write(tmp_path, textwrap.dedent(text)))
    assert (second.name, second.model, second.params) == ("b", "m", {"data": "x@latest"})
    assert (first.rollout.watch, second.rollout.watch) == ("1h", "2h")
    assert second.rollout.strategy == "canary"


def test_no_policies(tmp_path: Path) -> None:
    assert load_policy_file(write(tmp_path, "policies: []\n")) == []


def test_error_carries_path_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "    rollout:\n      steps: [50, 10]\n")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    error = caught.value
    assert isinstance(error, InvalidArgument)
    assert (error.path, error.line, error.key) == (path, 7, "policies[0].rollout.steps")
    assert str(error) == (
        "mloop.yaml, line 7: policies[0].rollout.steps: canary steps are rising percents "
        "ending at 100, e.g. [10, 50, 100]; got (50, 10)"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.line, copy.key) == (str(error), 7, "policies[0].rollout.steps")


FILE_ERRORS = {
    "yaml syntax": ("policies:\n  - name: a\n   model: [b\n", 3, "", "not valid YAML"),
    "tab": ("policies:\n\t- name: a\n", 2, "", "not valid YAML"),
    "two documents": ("policies: []\n---\npolicies: []\n", 2, "", "single document"),
    "empty": ("# nothing here\n", 0, "", "the file is empty"),
    "not a mapping": ("- name: a\n", 1, "", "the file is a mapping of policies, got a list"),
    "no policies": ("{}\n", 1, "policies", "missing"),
    "top-level key": ("policy: []\n", 1, "policy", "did you mean 'policies'?"),
    "other key": ("policies: []\nmodels: []\n", 2, "models", "the file takes policies"),
    "policies null": ("policies:\n", 1, "policies", "is a list of policies, got nothing"),
    "policies map": ("policies:\n  name: a\n", 2, "policies", "got a mapping"),
    "policy not map": ("policies:\n  - a\n", 2, "policies[0]", "a policy is a mapping"),
    "unknown tag": ("policies: !custom []\n", 1, "policies", "got a value tagged !custom"),
}


@pytest.mark.parametrize(
    ("text", "line", "key", "reason"), FILE_ERRORS.values(), ids=list(FILE_ERRORS)
)
def test_file_errors(tmp_path: Path, text: str, line: int, key: str, reason: str) -> None:
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, text))
    where = "mloop.yaml" + (f", line {line}" if line else "")
    assert str(caught.value).startswith(f"{where}: {key}: " if key else f"{where}: ")
    assert reason in str(caught.value)
    assert (caught.value.line, caught.value.key) == (line, key)


P = "policies[0]"
# Each text follows HEAD, so its first line is line 6.
POLICY_ERRORS = {
    "unknown policy key": ("owner: me", 6, f"{P}.owner", "unknown key; a policy takes name"),
    "misspelled key": ("cooldwn: 1h", 6, f"{P}.cooldwn", "did you mean 'cooldown'?"),
    "gate key": ("gate:\n  data: x\n  targt: y", 8, f"{P}.gate.targt", "'target'"),
    "rollout key": ("rollout:\n  stpes: [100]", 7, f"{P}.rollout.stpes", "'steps'"),
    "gate missing": ("gate:\n  data: x\n  target: y", 7, f"{P}.gate.task", "missing"),
    "steps number": ("rollout:\n  steps: 10", 7, f"{P}.rollout.steps", "list of whole numbers"),
    "step text": ("rollout:\n  steps: [10, '50', 100]", 7, f"{P}.rollout.steps[1]", "whole"),
    "min_rows text": ("rollout: {min_rows: '5'}", 6, f"{P}.rollout.min_rows", "whole number"),
    "validate text": (
        "gate: {data: x, target: y, task: regression, validate: 'no'}",
        6,
        f"{P}.gate.validate",
        "is true or false, got the text 'no'",
    ),
    "rules text": (
        "gate:\n  data: x\n  target: y\n  task: regression\n  rules: mae<=0",
        10,
        f"{P}.gate.rules",
        "is a list of texts",
    ),
    "params list": ("params: [a]", 6, f"{P}.params", "maps names to values, got a list"),
    "params key": ("params:\n  1: a", 7, f"{P}.params", "keys are texts, got the number 1"),
    "rollout text": ("rollout: canary", 6, f"{P}.rollout", "a rollout is a mapping"),
    "watch list": ("rollout:\n  watch: [1]", 7, f"{P}.rollout.watch", "is a duration"),
    "watch unit": ("rollout:\n  watch: 10x", 7, f"{P}.rollout.watch", "'10x' is not a duration"),
    "cooldown negative": ("cooldown: -5", 6, f"{P}.cooldown", "between 0 and 100 years"),
    "triggers map": ("triggers: {drift: w}", 6, f"{P}.triggers", "is a list of triggers"),
    "trigger two keys": ("triggers:\n  - {drift: w, decay: w}", 7, f"{P}.triggers[0]", "KIND"),
    "trigger number": ("triggers:\n  - manual\n  - 5", 8, f"{P}.triggers[1]", "unknown trigger 5"),
    "trigger kind": ("triggers:\n  - drfit: w", 7, f"{P}.triggers[0]", "did you mean 'drift'?"),
    "bare drift": ("triggers:\n  - drift", 7, f"{P}.triggers[0]", "needs a target"),
    "manual target": ("triggers:\n  - manual: x", 7, f"{P}.triggers[0].manual", "no target"),
    "drift target": ("triggers:\n  - drift: [w]", 7, f"{P}.triggers[0].drift", "non-empty text"),
    "trigger twice": ("triggers:\n  - drift: w\n  - drift: w", 8, f"{P}.triggers[1]", "listed"),
    "bad cron": ("triggers:\n  - decay: w\n  - schedule: nope", 8, f"{P}.triggers[1].schedule", ""),
    "steps order": ("rollout:\n  steps: [50, 10]", 7, f"{P}.rollout.steps", "got (50, 10)"),
    "strategy": ("rollout:\n  steps: [100]\n  strategy: canry", 8, f"{P}.rollout.strategy", ""),
    "guard": ("rollout:\n  guards:\n    - mae<=+5\n    - foo<=1", 9, f"{P}.rollout.guards[1]", ""),
    "min_rows zero": ("rollout:\n  watch: 1m\n  min_rows: 0", 8, f"{P}.rollout.min_rows", ""),
    "gate task": ("gate:\n  data: x\n  target: y\n  task: regresion", 9, f"{P}.gate.task", ""),
    "gate rule": (
        "gate:\n  data: x\n  target: y\n  task: regression\n  rules: [mae<=0, accuracy>=0.8]",
        10,
        f"{P}.gate.rules[1]",
        "does not apply to regression",
    ),
    "gate blank": ("gate: {data: x, target: ' ', task: regression}", 6, f"{P}.gate.target", ""),
    "duplicate key": ("cooldown: 1h\ncooldown: 2h", 7, f"{P}.cooldown", "first on line 6"),
    "duplicate param": ("params:\n  a: 1\n  b: 2\n  a: 3", 9, f"{P}.params.a", "duplicate key"),
    "binary tag": ("params: {a: !!binary aGk=}", 6, f"{P}.params.a", "2002:binary is not"),
    "python tag": ("params: {a: !!python/name:os.system x}", 6, f"{P}.params.a", "not supported"),
    "map loop": ("params: &p {a: *p}", 6, f"{P}.params.a", "alias refers to a node"),
    "merge loop": ("params: &p {a: 1, <<: *p}", 6, f"{P}.params", "alias refers to a node"),
    "alias loop": ("params: &p {a: [*p]}", 6, f"{P}.params.a[0]", "alias refers to a node"),
}


@pytest.mark.parametrize(
    ("rest", "line", "key", "reason"), POLICY_ERRORS.values(), ids=list(POLICY_ERRORS)
)
def test_policy_errors(tmp_path: Path, rest: str, line: int, key: str, reason: str) -> None:
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, HEAD + textwrap.indent(rest + "\n", "    ")))
    assert str(caught.value).startswith(f"mloop.yaml, line {line}: {key}: ")
    assert reason in str(caught.value)
    assert (caught.value.line, caught.value.key) == (line, key)


HEAD_ERRORS = {
    "name list": ("name: a", "name: [a]", 2, "name", "is a non-empty text, got a list"),
    "name null": ("name: a", "name:", 2, "name", "is a non-empty text, got nothing"),
    "model number": ("model: m", "model: 12", 4, "model", 'got the number 12 (quote it: "12")'),
    "pipeline": ("pipeline: m:f", "pipeline: nofunction", 3, "pipeline", "module:function"),
    "deployment": ("deployment: d", 'deployment: "a\\x01"', 5, "deployment", "control"),
}


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "reason"), HEAD_ERRORS.values(), ids=list(HEAD_ERRORS)
)
def test_required_key_errors(
    tmp_path: Path, *, old: str, new: str, line: int, key: str, reason: str
) -> None:
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, HEAD.replace(old, new)))
    assert str(caught.value).startswith(f"mloop.yaml, line {line}: {P}.{key}: ")
    assert reason in str(caught.value)


def test_constructor_reason_is_kept(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError) as caught:
        policy(tmp_path, "rollout:\n  guards: [foo<=1]\n")
    with pytest.raises(InvalidArgument) as direct:
        Rollout(guards=("foo<=1",))
    assert caught.value.reason == str(direct.value)
    assert (caught.value.line, caught.value.key) == (7, f"{P}.rollout.guards[0]")


def test_policy_constructor_errors_point_at_their_field(tmp_path: Path) -> None:
    text = HEAD.replace("pipeline: m:f", "pipeline: no-function")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, text))
    assert (caught.value.line, caught.value.key) == (3, f"{P}.pipeline")
    assert "pipeline is module:function, got 'no-function'" in str(caught.value)
    # The policy's name ("model") in the message does not mislead the search.
    text = HEAD.replace("name: a", "name: model").replace("model: m", "model: bad name!")
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, text))
    assert (caught.value.line, caught.value.key) == (4, f"{P}.model")


def test_duplicate_policy_names(tmp_path: Path) -> None:
    second = "  - name: b\n    pipeline: m:f\n    model: m\n    deployment: d\n"
    third = "  - pipeline: m:f\n    model: m\n    deployment: d\n    name: a\n"
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, HEAD + second + third))
    assert str(caught.value).startswith("mloop.yaml, line 13: policies[2].name: ")
    assert "policies[0] is named 'a'" in str(caught.value)


def test_missing_policy_key_points_at_the_mapping(tmp_path: Path) -> None:
    text = HEAD + "  - name: b\n    pipeline: m:f\n    model: m\n"
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, text))
    assert str(caught.value).startswith("mloop.yaml, line 6: policies[1].deployment: missing")
    assert "a policy needs name, pipeline, model, deployment" in str(caught.value)


def test_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match=r"^mloop\.yaml: no policy file at ") as caught:
        load_policy_file(tmp_path / POLICY_FILE)
    assert (caught.value.line, caught.value.key) == (0, "")


def test_file_not_readable(tmp_path: Path) -> None:
    (tmp_path / POLICY_FILE).mkdir()
    with pytest.raises(PolicyFileError, match=r"^mloop\.yaml: cannot read "):
        load_policy_file(tmp_path / POLICY_FILE)


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / POLICY_FILE
    path.write_bytes(b"policies:\n  - name: caf\xe9\n")
    with pytest.raises(PolicyFileError, match=r"^mloop\.yaml, line 2: not UTF-8") as caught:
        load_policy_file(path)
    assert caught.value.line == 2


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / POLICY_FILE
    path.write_bytes(b"\xef\xbb\xbf" + HEAD.encode())
    assert [p.name for p in load_policy_file(path)] == ["a"]


def test_rebase_reads_its_monitors_and_reference(tmp_path: Path) -> None:
    found = policy(tmp_path, "rebase:\n  monitors: [watch, other]\n  reference: bikes@latest\n")
    assert found.rebase == Rebase(("watch", "other"), "bikes@latest")
    assert "bikes" in found.datasets()


@pytest.mark.parametrize(
    ("rest", "line", "key", "reason"),
    [
        ("rebase:\n  monitors: [watch]", 7, f"{P}.rebase.reference", "missing"),
        ("rebase:\n  monitors: []\n  reference: b@1", 7, f"{P}.rebase", "at least one"),
        ("rebase:\n  monitor: [w]\n  reference: b@1", 7, f"{P}.rebase.monitor", "monitors"),
    ],
)
def test_rebase_errors(tmp_path: Path, rest: str, line: int, key: str, reason: str) -> None:
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write(tmp_path, HEAD + textwrap.indent(rest + "\n", "    ")))
    assert (caught.value.line, caught.value.key) == (line, key), str(caught.value)
    assert reason in str(caught.value)
