"""The model registry aggregates of the metadata store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import (
    AliasAction,
    ModelVersionStatus,
    NewEvaluation,
    NewModelVersion,
    Store,
    open_store,
)


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    yield s
    s.close()


def package(n: int) -> NewModelVersion:
    return NewModelVersion(package=f"{n:064x}", flavor="sklearn", user="ada", created_at=1_000 + n)


def registered(store: Store, versions: int = 3) -> None:
    model = store.models.ensure("churn")
    for n in range(1, versions + 1):
        store.models.add_version(model.id, package(n))


def move(store: Store, alias: str, number: int | None, at: int, action: AliasAction) -> None:
    store.models.move_alias(
        "churn", alias, number, action=action, user="ada", created_at=at, reason=f"to {number}"
    )


def test_versions_count_up_and_keep_what_was_registered(store: Store) -> None:
    model = store.models.ensure("churn")
    assert store.models.ensure("churn") == model and model.latest is None
    first = store.models.add_version(
        model.id,
        NewModelVersion(
            package="a" * 64,
            flavor="lightgbm",
            user="ada",
            created_at=5,
            signature='{"inputs": []}',
            description="first try",
            tags={"team": "risk"},
        ),
    )
    second = store.models.add_version(model.id, package(2))
    assert (first.version, second.version) == (1, 2)
    assert first.uri == "models:/churn/1" and first.status is ModelVersionStatus.READY
    assert (first.flavor, first.signature, first.tags) == (
        "lightgbm",
        '{"inputs": []}',
        {"team": "risk"},
    )
    assert store.models.version("churn", 1) == first
    assert [v.version for v in store.models.versions("churn")] == [2, 1]
    assert store.models.get("churn").latest == 2
    assert [m.name for m in store.models.list_all()] == ["churn"]


def test_aliases_move_and_every_move_is_kept(store: Store) -> None:
    registered(store)
    move(store, "champion", 1, 10, AliasAction.PROMOTE)
    move(store, "champion", 2, 20, AliasAction.PROMOTE)
    move(store, "challenger", 3, 25, AliasAction.SET)
    move(store, "champion", 1, 30, AliasAction.ROLLBACK)
    assert store.models.get("churn").aliases == {"challenger": 3, "champion": 1}
    assert store.models.version("churn", 1).aliases == ("champion",)
    history = store.models.alias_history("churn", "champion")
    assert [(e.version, e.previous, e.action, e.created_at) for e in history] == [
        (1, None, AliasAction.PROMOTE, 10),
        (2, 1, AliasAction.PROMOTE, 20),
        (1, 2, AliasAction.ROLLBACK, 30),
    ]
    assert len(store.models.alias_history("churn")) == 4
    move(store, "challenger", None, 40, AliasAction.REMOVE)
    assert store.models.get("churn").aliases == {"champion": 1}
    assert store.models.alias_history("churn", "challenger")[-1].version is None


def test_bad_alias_moves_change_nothing(store: Store) -> None:
    registered(store, versions=2)
    move(store, "champion", 1, 10, AliasAction.SET)
    with pytest.raises(NotFound, match="no version 7: its versions are 1 to 2"):
        move(store, "champion", 7, 20, AliasAction.SET)
    with pytest.raises(NotFound, match="no alias @challenger"):
        move(store, "challenger", None, 20, AliasAction.REMOVE)
    for bad in ("Champion", "3", "latest", "", "a b"):
        with pytest.raises(InvalidArgument):
            move(store, bad, 2, 20, AliasAction.SET)
    with pytest.raises(NotFound, match="no registered model named 'nope'"):
        store.models.move_alias(
            "nope", "champion", 1, action=AliasAction.SET, user="a", created_at=1
        )
    assert store.models.get("churn").aliases == {"champion": 1}
    assert len(store.models.alias_history("churn")) == 1


def test_archived_versions_hold_no_alias(store: Store) -> None:
    registered(store, versions=2)
    move(store, "champion", 1, 10, AliasAction.SET)
    with pytest.raises(Conflict, match="models:/churn/1 is @champion"):
        store.models.update_version("churn", 1, status=ModelVersionStatus.ARCHIVED)
    archived = store.models.update_version("churn", 2, status=ModelVersionStatus.ARCHIVED)
    assert archived.status is ModelVersionStatus.ARCHIVED
    with pytest.raises(Conflict, match="archived"):
        move(store, "champion", 2, 20, AliasAction.SET)
    assert store.models.get("churn").aliases == {"champion": 1}


def test_descriptions_and_tags(store: Store) -> None:
    registered(store, versions=1)
    model = store.models.update("churn", description="Who leaves next month", tags={"a": "1"})
    assert (model.description, model.tags) == ("Who leaves next month", {"a": "1"})
    assert store.models.update("churn", tags={"a": "", "b": "2"}).tags == {"b": "2"}
    version = store.models.update_version("churn", 1, description="baseline", tags={"x": "y"})
    assert (version.description, version.tags) == ("baseline", {"x": "y"})
    with pytest.raises(InvalidArgument):
        store.models.update("churn", description="bad\x00")
    assert store.models.get("churn").description == "Who leaves next month"


def test_versions_link_to_their_run(store: Store) -> None:
    experiment = store.experiments.ensure("e")
    run = store.runs.create(experiment.id, name=None, user="ada", start_time=1)
    model = store.models.ensure("churn")
    version = store.models.add_version(
        model.id,
        NewModelVersion(package="b" * 64, flavor="python", user="ada", created_at=2, run_id=run.id),
    )
    assert store.models.versions_of_run(run.id) == [version]
    with pytest.raises(NotFound, match="no run"):
        store.models.add_version(
            model.id,
            NewModelVersion(package="b" * 64, flavor="x", user="a", created_at=3, run_id="f" * 32),
        )
    assert store.models.get("churn").latest == 1
    assert store.models.blob_references() == (set(), {"b" * 64})


def test_bad_names_are_refused(store: Store) -> None:
    for bad in ("", "has space", "-dash", "a/b", "a@b"):
        with pytest.raises(InvalidArgument, match="not a valid model name"):
            store.models.ensure(bad)
    assert store.models.list_all() == []


def test_evaluations_are_recorded_against_versions(store: Store) -> None:
    registered(store, versions=2)
    one, two = store.models.version("churn", 1), store.models.version("churn", 2)
    new = NewEvaluation(
        candidate=two.package,
        candidate_version_id=two.id,
        baseline_version_id=one.id,
        dataset_version_id=None,
        task="classification",
        passed=True,
        result='{"passed": true}',
        user="ada",
        created_at=9,
    )
    recorded = store.evaluations.add(new)
    assert store.evaluations.get(recorded.id) == recorded and recorded.passed
    assert store.evaluations.of_version(two.id) == [recorded]
    assert store.evaluations.of_version(one.id) == []
    with pytest.raises(NotFound, match="no dataset version with id 99"):
        store.evaluations.add(replace(new, dataset_version_id=99))
    assert store.evaluations.of_version(two.id) == [recorded]


moves = st.lists(
    st.tuples(st.sampled_from(["champion", "challenger"]), st.one_of(st.none(), st.integers(1, 3))),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=moves)
def test_history_replays_to_the_current_aliases(
    store_uri: str, steps: list[tuple[str, int | None]]
) -> None:
    store = open_store(store_uri)
    try:
        name = f"m{abs(hash(tuple(steps))) % 10**9}"
        model = store.models.ensure(name)
        if model.latest is None:
            for n in range(1, 4):
                store.models.add_version(model.id, package(n))
        expected = dict(store.models.get(name).aliases)
        for at, (alias, number) in enumerate(steps):
            try:
                store.models.move_alias(
                    name, alias, number, action=AliasAction.SET, user="u", created_at=at
                )
            except NotFound:
                assert number is None and alias not in expected
                continue
            if number is None:
                expected.pop(alias)
            else:
                expected[alias] = number
        replayed: dict[str, int] = {}
        for event in store.models.alias_history(name):
            if event.version is None:
                replayed.pop(event.alias)
            else:
                replayed[event.alias] = event.version
        assert replayed == expected == store.models.get(name).aliases
    finally:
        store.close()
