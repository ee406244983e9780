"""Deployments and the prediction log's index, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.store import Label, NewSegment, RevisionAction, Route, Store, open_store


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    yield s
    s.close()


CHAMPION = Route("models:/churn@champion", 100)
CANARY = (Route("models:/churn@champion", 90), Route("models:/churn@challenger", 10))


def create(store: Store, name: str = "churn-api") -> None:
    store.deployments.create(name, [CHAMPION], user="ada", created_at=1_000, reason="first")


def revise(store: Store, routes: tuple[Route, ...], **kwargs: object) -> int:
    settings = {"action": RevisionAction.SET, "source": None, "user": "ada", "created_at": 2_000}
    settings.update(kwargs)
    return store.deployments.add_revision("churn-api", routes, **settings).number  # type: ignore[arg-type]


def test_revisions_count_up_and_the_newest_is_current(store: Store) -> None:
    create(store)
    assert revise(store, CANARY, reason="canary") == 2
    shadowed = (CHAMPION, Route("models:/churn/7", 0, shadow=True))
    assert revise(store, shadowed) == 3
    back = revise(store, CANARY, action=RevisionAction.ROLLBACK, source=2)
    deployment = store.deployments.get("churn-api")
    assert back == 4 and deployment.revision.number == 4
    assert deployment.revision.routes == CANARY and deployment.revision.source == 2
    history = store.deployments.revisions("churn-api")
    assert [(r.number, r.action, r.source) for r in history] == [
        (1, RevisionAction.CREATE, 1),
        (2, RevisionAction.SET, 2),
        (3, RevisionAction.SET, 3),
        (4, RevisionAction.ROLLBACK, 2),
    ]
    assert history[2].shadows == (Route("models:/churn/7", 0, shadow=True),)
    assert history[1].reason == "canary" and history[0].user == "ada"
    assert store.deployments.revision("churn-api", 3) == history[2]
    assert [d.name for d in store.deployments.list_all()] == ["churn-api"]


def test_a_stale_change_is_a_conflict(store: Store) -> None:
    create(store)
    revise(store, CANARY, expected=1)
    with pytest.raises(Conflict, match="moved to revision 2"):
        revise(store, (CHAMPION,), expected=1)
    assert store.deployments.get("churn-api").revision.number == 2


@pytest.mark.parametrize(
    ("routes", "words"),
    [
        ((), "at least one route"),
        ((Route("models:/a@champion", 90),), "add up to 90%"),
        ((Route("models:/a/1", 60), Route("models:/a/2", 60)), "add up to 120%"),
        ((Route("models:/a/1", 50), Route("models:/a/1", 50)), "two routes"),
        ((Route("runs:/abc/model", 100),), "registered model"),
        ((Route("models:/a/1", 100), Route("models:/a/2", 5, shadow=True)), "shadow"),
        ((Route("models:/a/1", 100), Route("models:/a/2", 0)), "weight above 0"),
        ((Route("models:/a/1", 101),), "0 to 100"),
    ],
)
def test_bad_routes_change_nothing(store: Store, routes: tuple[Route, ...], words: str) -> None:
    create(store)
    with pytest.raises(InvalidArgument, match=words):
        revise(store, routes)
    with pytest.raises(InvalidArgument, match=words):
        store.deployments.create("other", routes, user="ada", created_at=1)
    assert store.deployments.get("churn-api").revision.number == 1
    assert [d.name for d in store.deployments.list_all()] == ["churn-api"]


def test_names_and_missing_things(store: Store) -> None:
    create(store)
    with pytest.raises(Conflict, match="exists"):
        create(store)
    with pytest.raises(InvalidArgument, match="not a valid deployment name"):
        create(store, "no spaces")
    with pytest.raises(NotFound, match="mloop deploy list"):
        store.deployments.get("nope")
    with pytest.raises(NotFound, match="no revision 9"):
        store.deployments.revision("churn-api", 9)
    with pytest.raises(NotFound, match="no revision 5"):
        revise(store, CANARY, action=RevisionAction.ROLLBACK, source=5)
    assert len(store.deployments.revisions("churn-api")) == 1


def segment(start: int, end: int, deployment: str | None = "churn-api", n: int = 1) -> NewSegment:
    return NewSegment(
        digest=f"{n:064x}",
        rows=10,
        start=start,
        end=end,
        package="ab" * 32,
        model="models:/churn/1",
        deployment=deployment,
        revision=1,
    )


def test_segments_are_found_by_deployment_and_time(store: Store) -> None:
    create(store)
    store.predictions.add_segment(segment(1_000, 2_000, n=1))
    store.predictions.add_segment(segment(2_500, 3_000, n=2))
    store.predictions.add_segment(segment(1_500, 1_600, deployment=None, n=3))
    found = store.predictions.segments(deployment="churn-api")
    assert [s.digest[-1] for s in found] == ["1", "2"]
    assert [s.digest[-1] for s in store.predictions.segments(start=2_100)] == ["2"]
    assert [s.digest[-1] for s in store.predictions.segments(end=1_200)] == ["1"]
    assert len(store.predictions.segments(start=1_550, end=1_580)) == 2
    assert found[0].deployment == "churn-api" and found[0].rows == 10
    files, _ = store.predictions.blob_references()
    assert files == {f"{n:064x}" for n in (1, 2, 3)}


def test_bad_segments_are_refused(store: Store) -> None:
    create(store)
    with pytest.raises(InvalidArgument, match="start time"):
        store.predictions.add_segment(segment(3_000, 2_000))
    with pytest.raises(NotFound, match="no deployment"):
        store.predictions.add_segment(segment(1, 2, deployment="ghost"))
    with pytest.raises(InvalidArgument, match="digest"):
        store.predictions.add_segment(NewSegment("xyz", 1, 1, 2, "ab" * 32, "m"))
    assert store.predictions.segments() == []


def test_labels_upsert_and_bad_ones_store_nothing(store: Store) -> None:
    store.predictions.add_labels([Label("r1", 0, "1", 10), Label("r1", 1, '"b"', 10)])
    store.predictions.add_labels([Label("r1", 0, "0", 20)])
    with pytest.raises(InvalidArgument, match="request id"):
        store.predictions.add_labels([Label("r2", 0, "1", 30), Label("bad id", 0, "1", 30)])
    with pytest.raises(InvalidArgument, match="row"):
        store.predictions.add_labels([Label("r3", -1, "1", 30)])
    found = sorted((x.request_id, x.row, x.value) for x in store.predictions.labels(["r1", "r2"]))
    assert found == [("r1", 0, "0"), ("r1", 1, '"b"')]


weights = st.lists(st.integers(0, 120), min_size=1, max_size=5)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(weights=weights)
def test_routes_are_kept_exactly_when_they_add_up_to_100(
    store_uri: str, weights: list[int]
) -> None:
    store = open_store(store_uri)
    try:
        routes = tuple(Route(f"models:/m/{i + 1}", w) for i, w in enumerate(weights))
        name = f"d{abs(hash(tuple(weights))) % 10**9}"
        valid = sum(weights) == 100 and all(0 < w <= 100 for w in weights)
        try:
            store.deployments.create(name, routes, user="u", created_at=1)
        except (InvalidArgument, Conflict):
            assert not valid or name in {d.name for d in store.deployments.list_all()}
            return
        assert valid
        assert store.deployments.get(name).revision.routes == routes
    finally:
        store.close()


label_batches = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2), st.integers(0, 9)),
    min_size=1,
    max_size=15,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=label_batches)
def test_the_newest_label_of_a_row_wins(store_uri: str, batch: list[tuple[str, int, int]]) -> None:
    store = open_store(store_uri)
    try:
        prefix = f"p{abs(hash(tuple(batch))) % 10**9}-"
        expected: dict[tuple[str, int], str] = {}
        for start in range(0, len(batch), 4):  # several batches, each may repeat a row
            labels = [Label(prefix + r, row, str(v), 0) for r, row, v in batch[start : start + 4]]
            store.predictions.add_labels(labels)
            expected.update({(x.request_id, x.row): x.value for x in labels})
        found = store.predictions.labels([prefix + "a", prefix + "b"])
        assert {(x.request_id, x.row): x.value for x in found} == expected
    finally:
        store.close()
