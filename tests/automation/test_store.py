"""The automation store on SQLite and PostgreSQL: each trigger event opens one job, cursors
move only from the value seen, a job moves only from the state seen, one run at a time."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import Conflict, InvalidArgument
from mloop.store import JobState, NewAutomationEvent, NewJob
from mloop.tracking.client import Client

PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def event(policy: str, kind: str = "triggered") -> NewAutomationEvent:
    return NewAutomationEvent(policy, kind, f"{kind} for a test", "{}", "tester", 1)


def job(policy: str, dedupe: str, state: JobState = JobState.SKIPPED) -> NewJob:
    return NewJob(policy, "drift:watch", dedupe, state, json.dumps({"n": dedupe}), 1)


@PROPERTY
@given(keys=st.lists(st.sampled_from("abcdef"), min_size=1, max_size=12))
def test_each_trigger_event_opens_exactly_one_job(client: Client, keys: list[str]) -> None:
    store = client.store.automation
    policy = f"p-{uuid.uuid4().hex[:8]}"
    opened = [store.open_job(job(policy, k), event(policy)) for k in keys]
    assert sum(o is not None for o in opened) == len(set(keys))
    assert sorted(j.dedupe for j in store.jobs(policy)) == sorted(set(keys))
    assert len(store.events(policy)) == len(set(keys))  # no event without its job


def test_a_cursor_moves_only_from_the_value_seen(client: Client) -> None:
    store = client.store.automation
    assert store.arm("p", "drift:watch", "0", event("p", "armed"))
    assert not store.arm("p", "drift:watch", "5", event("p", "armed"))  # armed once
    assert store.open_job(job("p", "#3"), event("p"), cursor=("0", "3")) is not None
    stale = store.open_job(job("p", "#4"), event("p"), cursor=("0", "4"))  # saw "0" too
    assert stale is None
    assert store.cursors("p") == {"drift:watch": "3"}
    assert [j.dedupe for j in store.jobs("p")] == ["#3"]  # nothing of the stale one
    assert [e.kind for e in store.events("p")] == ["armed", "triggered"]


def test_a_job_moves_only_from_the_state_seen_with_its_events(client: Client) -> None:
    store = client.store.automation
    opened = store.open_job(job("p", "a", JobState.QUEUED), event("p"))
    assert opened is not None
    moved = store.advance(
        opened.id, JobState.QUEUED, JobState.TRAINED, "{}", [event("p", "trained")]
    )
    assert moved.state is JobState.TRAINED
    with pytest.raises(Conflict, match="no longer queued"):
        store.advance(opened.id, JobState.QUEUED, JobState.FAILED, "{}", [event("p", "failed")])
    assert store.job(opened.id).state is JobState.TRAINED
    assert [e.kind for e in store.events(job_id=opened.id)] == ["triggered", "trained"]


def test_a_policy_has_one_active_run_at_a_time(client: Client) -> None:
    store = client.store.automation
    assert store.open_job(job("p", "a", JobState.QUEUED), event("p")) is not None
    with pytest.raises(Conflict, match="active run"):
        store.open_job(job("p", "b", JobState.QUEUED), event("p"))
    assert store.open_job(job("p", "b", JobState.SKIPPED), event("p", "skipped")) is not None
    assert store.open_job(job("q", "a", JobState.QUEUED), event("q")) is not None  # another policy
    assert [j.state for j in store.jobs(active=True)] == [JobState.QUEUED, JobState.QUEUED]


@pytest.mark.parametrize(
    "bad",
    [
        NewAutomationEvent("", "armed", "m", "{}", "u", 1),
        NewAutomationEvent("p", "", "m", "{}", "u", 1),
        NewAutomationEvent("p", "armed", None, "{}", "u", 1),  # type: ignore[arg-type]
    ],
)
def test_a_malformed_event_is_refused_and_nothing_is_written(
    client: Client, bad: NewAutomationEvent
) -> None:
    store = client.store.automation
    store.record(event("p", "armed"))
    with pytest.raises(InvalidArgument):
        store.record(bad)
    assert len(store.events()) == 1


def test_a_lease_is_held_by_one_owner_until_it_ends_or_is_released(client: Client) -> None:
    store = client.store.automation
    assert store.lease("p", "a", until=2_000, now=1_000)
    assert store.lease("p", "a", until=3_000, now=1_500)  # renewed by its owner
    assert not store.lease("p", "b", until=4_000, now=2_500)  # held by a until 3,000
    assert store.lease("q", "b", until=4_000, now=2_500)  # another policy is free
    assert store.lease("p", "b", until=5_000, now=3_001)  # a's lease ran out
    assert not store.lease("p", "a", until=6_000, now=3_500)
    store.release("p", "a")  # not a's: changes nothing
    assert not store.lease("p", "a", until=6_000, now=3_500)
    store.release("p", "b")
    assert store.lease("p", "a", until=6_000, now=3_500)
