"""The dataset aggregate of the metadata store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidArgument, NotFound
from mloop.store import DatasetKind, NewVersion, Store, open_store


@pytest.fixture
def store(store_uri: str) -> Iterator[Store]:
    s = open_store(store_uri)
    yield s
    s.close()


def new(digest: str, **changes: object) -> NewVersion:
    fields: dict[str, object] = {
        "digest": digest,
        "kind": DatasetKind.FILE,
        "files": 1,
        "size": 10,
        "rows": None,
        "profile": None,
        "user": "ada",
        "created_at": 1_000,
    }
    fields.update(changes)
    return NewVersion(**fields)  # type: ignore[arg-type]


def test_versions_count_up_and_link_their_parent(store: Store) -> None:
    bikes = store.datasets.ensure("bikes")
    first, created = store.datasets.add_version(bikes.id, new("a" * 64, message="2011"))
    assert created and first.version == 1 and first.parent is None and first.ref == "bikes@1"
    second, created = store.datasets.add_version(
        bikes.id, new("b" * 64, kind=DatasetKind.TABLE, rows=17, profile="c" * 64, tags={"k": "v"})
    )
    assert created and second.version == 2 and second.parent == 1
    assert (second.kind, second.rows, second.profile, second.tags) == (
        DatasetKind.TABLE,
        17,
        "c" * 64,
        {"k": "v"},
    )
    assert store.datasets.get("bikes").latest == 2
    assert [v.version for v in store.datasets.versions("bikes")] == [2, 1]
    assert store.datasets.version("bikes", 1) == first


def test_the_same_content_as_the_latest_makes_no_version(store: Store) -> None:
    bikes = store.datasets.ensure("bikes")
    store.datasets.add_version(bikes.id, new("a" * 64))
    again, created = store.datasets.add_version(bikes.id, new("a" * 64, message="again"))
    assert not created and again.version == 1 and again.message is None
    store.datasets.add_version(bikes.id, new("b" * 64))
    back, created = store.datasets.add_version(bikes.id, new("a" * 64))  # a revert is a version
    assert created and back.version == 3 and back.parent == 2


def test_versions_by_digest_prefix(store: Store) -> None:
    bikes = store.datasets.ensure("bikes")
    store.datasets.add_version(bikes.id, new("ab" + "0" * 62))
    store.datasets.add_version(bikes.id, new("ac" + "0" * 62))
    assert [v.version for v in store.datasets.versions("bikes", digest_prefix="ab")] == [1]
    assert len(store.datasets.versions("bikes", digest_prefix="a")) == 2
    assert store.datasets.versions("bikes", digest_prefix="ff") == []
    with pytest.raises(InvalidArgument, match="not a digest prefix"):
        store.datasets.versions("bikes", digest_prefix="a%")


def test_unknown_datasets_and_versions_say_what_exists(store: Store) -> None:
    with pytest.raises(NotFound, match=r"no dataset named 'nope'.*mloop data list"):
        store.datasets.get("nope")
    bikes = store.datasets.ensure("bikes")
    with pytest.raises(NotFound, match="no versions yet"):
        store.datasets.version("bikes", 1)
    store.datasets.add_version(bikes.id, new("a" * 64))
    with pytest.raises(NotFound, match="has no version 7: its versions are 1 to 1"):
        store.datasets.version("bikes", 7)


@pytest.mark.parametrize("name", ["", "a b", "bikes@2", "../x", "-x", "a/b", "x" * 251])
def test_bad_dataset_names_are_refused_and_nothing_is_stored(store: Store, name: str) -> None:
    with pytest.raises(InvalidArgument, match="not a valid dataset name"):
        store.datasets.ensure(name)
    assert store.datasets.list_all() == []


def test_a_bad_version_is_refused_whole(store: Store) -> None:
    bikes = store.datasets.ensure("bikes")
    for bad in (new("xyz"), new("a" * 64, profile="nope"), new("a" * 64, size=-1)):
        with pytest.raises(InvalidArgument):
            store.datasets.add_version(bikes.id, bad)
    with pytest.raises(InvalidArgument):
        store.datasets.add_version(bikes.id, new("a" * 64, tags={"k": 1}))
    assert store.datasets.versions("bikes") == []


def test_runs_record_their_inputs_once_per_role(store: Store) -> None:
    exp = store.experiments.ensure("e")
    run = store.runs.create(exp.id, name="r", user="ada", start_time=1).id
    bikes = store.datasets.ensure("bikes")
    version, _ = store.datasets.add_version(bikes.id, new("a" * 64))
    store.datasets.log_input(run, version.id, "train", 5)
    store.datasets.log_input(run, version.id, "train", 6)  # again: harmless
    store.datasets.log_input(run, version.id, "reference", 7)
    inputs = store.datasets.run_inputs(run)
    assert [(i.version.ref, i.role) for i in inputs] == [
        ("bikes@1", "train"),
        ("bikes@1", "reference"),
    ]
    users = store.datasets.version_users(version.id)
    assert [(u.run_id, u.role) for u in users] == [(run, "train"), (run, "reference")]
    with pytest.raises(NotFound, match="no run"):
        store.datasets.log_input("0" * 32, version.id, "train", 1)
    with pytest.raises(NotFound, match="no dataset version"):
        store.datasets.log_input(run, 999, "train", 1)
    with pytest.raises(InvalidArgument):
        store.datasets.log_input(run, version.id, "", 1)


def test_schemas_attach_and_detach(store: Store) -> None:
    store.datasets.ensure("bikes")
    store.datasets.set_schema("bikes", '{"columns": []}')
    assert store.datasets.get("bikes").schema == '{"columns": []}'
    store.datasets.set_schema("bikes", None)
    assert store.datasets.get("bikes").schema is None
    with pytest.raises(NotFound):
        store.datasets.set_schema("nope", "{}")


def test_blob_references_name_manifests_and_profiles(store: Store) -> None:
    bikes = store.datasets.ensure("bikes")
    store.datasets.add_version(bikes.id, new("a" * 64))
    store.datasets.add_version(bikes.id, new("b" * 64, profile="c" * 64))
    assert store.datasets.blob_references() == ({"c" * 64}, {"a" * 64, "b" * 64})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["a", "b", "c"]), max_size=12))
def test_consecutive_identical_adds_collapse_into_one_version(
    store: Store, adds: list[str]
) -> None:
    name = f"ds-{len(store.datasets.list_all())}"
    dataset = store.datasets.ensure(name)
    expected: list[str] = []
    for letter in adds:
        store.datasets.add_version(dataset.id, new(letter * 64))
        if not expected or expected[-1] != letter:
            expected.append(letter)
    versions = list(reversed(store.datasets.versions(name)))
    assert [v.digest[0] for v in versions] == expected
    assert [v.version for v in versions] == list(range(1, len(expected) + 1))
    assert [v.parent for v in versions] == [None, *range(1, len(expected))][: len(expected)]
