"""One behavioural suite for the metadata store, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import (
    POINTS_PER_WRITE,
    MetricPoint,
    NoteOutcome,
    RunQuery,
    RunStatus,
    Store,
    open_store,
)
from mloop.store.entities import ArtifactEntry


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    yield s
    s.close()


def new_run(store: Store, experiment: str = "exp", **kwargs: object) -> str:
    exp = store.experiments.ensure(experiment)
    return store.runs.create(exp.id, name=None, user="ada", start_time=1_000, **kwargs).id  # type: ignore[arg-type]


def test_experiments_are_created_once_and_listed_with_counts(store: Store) -> None:
    first = store.experiments.ensure("churn")
    assert store.experiments.ensure("churn") == first
    store.runs.create(first.id, name="a", user="ada", start_time=5)
    store.runs.create(first.id, name="b", user="ada", start_time=9)
    store.experiments.ensure("empty")
    summary = {s.experiment.name: s for s in store.experiments.list()}
    assert summary["churn"].run_count == 2 and summary["churn"].last_run_at == 9
    assert summary["empty"].run_count == 0 and summary["empty"].last_run_at is None
    with pytest.raises(NotFound, match="no experiment named 'nope'"):
        store.experiments.get_by_name("nope")


def test_run_lifecycle_and_nesting(store: Store) -> None:
    parent = new_run(store)
    child = new_run(store, parent_id=parent, tags={"k": "v"})
    run = store.runs.get(child)
    assert run.parent_id == parent and run.status == RunStatus.RUNNING
    assert run.tags == {"k": "v"} and run.name  # a readable name is generated
    store.runs.set_status(child, RunStatus.FAILED, 2_000)
    run = store.runs.get(child)
    assert run.status == RunStatus.FAILED and run.end_time == 2_000


def test_params_are_immutable_and_a_conflict_stores_nothing(store: Store) -> None:
    run_id = new_run(store)
    store.runs.log_params(run_id, {"lr": "0.1", "depth": "3"})
    store.runs.log_params(run_id, {"lr": "0.1"})  # same value again is fine
    with pytest.raises(Conflict, match=r"param 'lr' .* already '0.1'.*immutable"):
        store.runs.log_params(run_id, {"new": "x", "lr": "0.2"})
    assert store.runs.get(run_id).params == {"lr": "0.1", "depth": "3"}


def test_metrics_keep_nan_and_infinity(store: Store) -> None:
    run_id = new_run(store)
    points = [
        MetricPoint("loss", 1.5, 0, 10),
        MetricPoint("loss", math.inf, 1, 11),
        MetricPoint("loss", -math.inf, 2, 12),
        MetricPoint("loss", math.nan, 3, 13),
    ]
    store.runs.log_metrics(run_id, points)
    history = store.runs.metric_history(run_id, "loss")
    assert all(a.same_as(b) for a, b in zip(history, points, strict=True))
    assert math.isnan(store.runs.get(run_id).metrics["loss"])


def test_latest_metric_is_highest_step_whatever_the_arrival_order(store: Store) -> None:
    run_id = new_run(store)
    store.runs.log_metrics(run_id, [MetricPoint("acc", 0.9, 5, 100)])
    store.runs.log_metrics(run_id, [MetricPoint("acc", 0.1, 1, 200)])  # late, older step
    assert store.runs.get(run_id).metrics == {"acc": 0.9}
    store.runs.log_metrics(run_id, [MetricPoint("acc", 0.95, 5, 300)])  # same step, newer
    assert store.runs.get(run_id).metrics == {"acc": 0.95}


@pytest.mark.parametrize("value", ["0.5", None, b"1", True, [1.0], complex(1, 2)], ids=repr)
def test_non_numeric_metric_values_are_refused_whole_batch(store: Store, value: object) -> None:
    run_id = new_run(store)
    good = MetricPoint("acc", 0.5, 0, 1)
    bad = MetricPoint("acc", value, 1, 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="metric 'acc' must be a number"):
        store.runs.log_metrics(run_id, [good, bad])
    assert store.runs.metric_history(run_id, "acc") == []


def test_a_batch_larger_than_one_write_is_stored_whole_or_refused_whole(store: Store) -> None:
    run_id = new_run(store)
    points = [MetricPoint("loss", float(i), i, i) for i in range(2 * POINTS_PER_WRITE + 7)]
    with pytest.raises(InvalidArgument):  # checked before the first of its transactions
        store.runs.log_metrics(run_id, [*points, MetricPoint("loss", "bad", 0, 0)])  # type: ignore[arg-type]
    assert store.runs.metric_history(run_id, "loss") == []
    store.runs.log_metrics(run_id, points)
    assert [p.step for p in store.runs.metric_history(run_id, "loss")] == list(range(len(points)))
    assert store.runs.get(run_id).metrics == {"loss": float(len(points) - 1)}


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**30])
def test_a_whole_number_out_of_64_bits_is_refused_not_clamped_or_crashed(
    store: Store, number: int
) -> None:
    """The databases store 64-bit whole numbers: a larger id or cursor is refused the same
    way on every backend (SQLite raised OverflowError; PostgreSQL compared it as it was)."""
    calls = [
        lambda: store.experiments.get(number),
        lambda: store.automation.job(number),
        lambda: store.automation.events(after=number),
        lambda: store.monitors.events(after=number),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument, match=rf"{number} is not a 64-bit whole number"):
            call()


def test_unknown_and_malformed_run_ids(store: Store) -> None:
    missing = "0" * 32
    with pytest.raises(NotFound, match=f"no run with id {missing}"):
        store.runs.get(missing)
    with pytest.raises(NotFound):
        store.runs.log_metrics(missing, [MetricPoint("x", 1.0, 0, 0)])
    with pytest.raises(NotFound):
        store.runs.log_params(missing, {"a": "b"})
    with pytest.raises(InvalidArgument, match="not a run id"):
        store.runs.get("../../etc")


@pytest.mark.parametrize("key", ["", "  ", "a\nb", "x" * 251])
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    run_id = new_run(store)
    with pytest.raises(InvalidArgument):
        store.runs.log_params(run_id, {key: "v"})
    with pytest.raises(InvalidArgument):
        store.runs.set_tags(run_id, {key: "v"})


def test_tags_overwrite(store: Store) -> None:
    run_id = new_run(store)
    store.runs.set_tags(run_id, {"stage": "dev"})
    store.runs.set_tags(run_id, {"stage": "prod", "owner": "ada"})
    assert store.runs.get(run_id).tags == {"stage": "prod", "owner": "ada"}


def test_artifact_index_and_blob_references(store: Store) -> None:
    run_id = new_run(store)
    file = ArtifactEntry("model.pkl", "a" * 64, 10, is_dir=False)
    folder = ArtifactEntry("data", "b" * 64, 99, is_dir=True)
    store.runs.record_artifacts(run_id, [file, folder])
    assert store.runs.artifacts(run_id) == [folder, file]
    replaced = ArtifactEntry("model.pkl", "c" * 64, 12, is_dir=False)
    store.runs.record_artifacts(run_id, [replaced])
    assert store.runs.artifacts(run_id) == [folder, replaced]
    assert store.runs.blob_references() == ({"c" * 64}, {"b" * 64})


def test_notes_keep_order_and_outcome(store: Store) -> None:
    run_id = new_run(store)
    store.runs.add_note(
        run_id, "tried dropout", outcome=NoteOutcome.WORKED, user="ada", created_at=1
    )
    store.runs.add_note(run_id, "more data?", outcome=None, user="bob", created_at=2)
    notes = store.runs.notes(run_id)
    assert [(n.text, n.outcome, n.user) for n in notes] == [
        ("tried dropout", NoteOutcome.WORKED, "ada"),
        ("more data?", None, "bob"),
    ]


def test_search_pages_through_every_run_once(store: Store) -> None:
    exp = store.experiments.ensure("exp")
    ids = {store.runs.create(exp.id, name=f"r{i}", user="u", start_time=i).id for i in range(7)}
    seen: list[str] = []
    token = None
    while True:
        page = store.runs.search(RunQuery(max_results=3, page_token=token))
        seen += [r.id for r in page.items]
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7
    with pytest.raises(InvalidArgument, match="page token"):
        store.runs.search(RunQuery(page_token="garbage!"))


finite_or_special = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(finite_or_special, min_size=1, max_size=30))
def test_metric_history_round_trips_any_float(store: Store, values: list[float]) -> None:
    run_id = new_run(store)
    points = [MetricPoint("m", v, i, 1_000 + i) for i, v in enumerate(values)]
    store.runs.log_metrics(run_id, points)
    history = store.runs.metric_history(run_id, "m")
    assert len(history) == len(points)
    assert all(a.same_as(b) for a, b in zip(history, points, strict=True))


def test_a_page_token_only_continues_its_own_search(store: Store) -> None:
    exp = store.experiments.ensure("exp")
    for i in range(3):
        store.runs.create(exp.id, name=f"r{i}", user="u", start_time=i)
    page = store.runs.search(RunQuery(filter="attributes.user = 'u'", max_results=1))
    assert page.next_token is not None
    with pytest.raises(InvalidArgument, match="belongs to another search"):
        store.runs.search(RunQuery(filter="attributes.user = 'v'", page_token=page.next_token))
