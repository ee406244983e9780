"""Rollouts through a real scoring server: a canary that breaches a guard is rolled back
while clients keep sending requests, none of which fails; a good one is promoted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import pytest

from autoflows import FEATURES, noise
from mloop.automation import Agent, Rollout
from mloop.data.client import DataClient
from mloop.store import JobState
from servers import Running, serving

from .conftest import Loop, tick

pytestmark = pytest.mark.parametrize("store_uri", ["sqlite"], indirect=True)


@dataclass
class Traffic:
    answered: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@contextmanager
def traffic(server: Running, loop: Loop) -> Iterator[Traffic]:
    """Two clients sending rows (5 per request) and posting their labels, until stopped."""
    seen = Traffic()
    rows = loop.frame.iloc[400:]

    def send(offset: int) -> None:
        start = offset
        while not seen.stop.is_set():
            chunk = rows.iloc[start % (len(rows) - 5) :][:5]
            start += 5
            try:
                answer = server.predict(chunk[FEATURES])
                if answer.status_code != 200:
                    seen.failures.append(f"{answer.status_code} {answer.text}")
                    continue
                body = answer.json()
                seen.answered[body["model"]] = seen.answered.get(body["model"], 0) + 1
                labels = [int(v) for v in chunk["target"]]
                server.http.post(
                    "/feedback", json={"request_id": body["request_id"], "labels": labels}
                )
            except Exception as exc:
                seen.failures.append(repr(exc))

    threads = [threading.Thread(target=send, args=(n * 50,)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        yield seen
    finally:
        seen.stop.set()
        for thread in threads:
            thread.join(30)


def _until_done(agent: Agent, seconds: float = 90) -> JobState:
    """Tick until the run ends, with a new agent every time (as if restarted)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(Agent(agent.client, list(agent.policies.values())))
        job = agent.client.store.automation.jobs()[-1]
        if not job.state.active:
            return job.state
        time.sleep(0.3)
    raise AssertionError("the rollout did not finish in time")


CANARY = Rollout("canary", steps=(50, 100), watch="2s", guards=("accuracy>=-0.1",), min_rows=40)


def test_a_guard_breach_during_canary_rolls_back_without_failed_requests(loop: Loop) -> None:
    policy = loop.policy(
        triggers=(), gate=None, rollout=CANARY, params={"data": "cancer@latest", "broken": True}
    )
    agent = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server:
        with traffic(server, loop) as seen:
            agent.trigger(policy.name, "a model that is broken on live data")
            assert _until_done(agent) is JobState.ROLLED_BACK
            time.sleep(1.0)  # the server follows the new revision within its poll interval
            seen.answered.clear()
            time.sleep(1.0)
        assert seen.failures == []
        assert set(seen.answered) == {"models:/cancer/1"}  # only the champion answers now
    kinds = loop.kinds()
    assert kinds == ["triggered", "trained", "gate_passed", "canary", "rolled_back"]
    last = loop.client.store.automation.events()[-1]
    assert "accuracy>=-0.1" in last.message and "BREACHED" in last.message
    after = loop.deployments.get("cancer-api").revision
    assert after.routes == before.routes and after.action.value == "rollback"
    assert loop.champion() == 1


def test_a_healthy_canary_goes_through_its_steps_and_is_promoted(loop: Loop) -> None:
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    policy = loop.policy(triggers=(), rollout=CANARY)
    agent = loop.agent(policy)
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server:
        with traffic(server, loop) as seen:
            agent.trigger(policy.name)
            assert _until_done(agent) is JobState.PROMOTED
            time.sleep(1.0)
            seen.answered.clear()
            time.sleep(1.0)
        assert seen.failures == []
        assert set(seen.answered) == {"models:/cancer/2"}
    assert loop.kinds() == ["triggered", "trained", "gate_passed", "canary", "promoted"]
    assert loop.champion() == 2
    routes = loop.deployments.get("cancer-api").revision.routes
    assert [r.model for r in routes] == ["models:/cancer@champion"]


def test_a_shadow_that_breaches_a_guard_never_answers_and_is_removed(loop: Loop) -> None:
    shadow = Rollout("shadow", steps=(50, 100), watch="2s", guards=("accuracy>=-0.1",), min_rows=40)
    policy = loop.policy(
        triggers=(), gate=None, rollout=shadow, params={"data": "cancer@latest", "broken": True}
    )
    agent = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server:
        with traffic(server, loop) as seen:
            agent.trigger(policy.name)
            assert _until_done(agent) is JobState.ROLLED_BACK
        assert seen.failures == []
        assert set(seen.answered) == {"models:/cancer/1"}  # a shadow never answers
    assert loop.kinds() == ["triggered", "trained", "gate_passed", "shadow", "rolled_back"]
    assert loop.deployments.get("cancer-api").revision.routes == before.routes


def test_a_candidate_that_fails_its_requests_is_rolled_back_on_its_error_rate(loop: Loop) -> None:
    guarded = Rollout("canary", steps=(50, 100), watch="30s", guards=("error_rate<=0.05",))
    policy = loop.policy(
        triggers=(),
        gate=None,
        rollout=replace(guarded, min_rows=40),
        params={"data": "cancer@latest", "failing": True},
    )
    agent = loop.agent(policy)
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server:
        with traffic(server, loop) as seen:
            agent.trigger(policy.name)
            assert _until_done(agent) is JobState.ROLLED_BACK
            time.sleep(1.0)
            seen.failures.clear()
            seen.answered.clear()
            time.sleep(1.0)
        assert seen.failures == []  # none once the server followed the rollback
        assert set(seen.answered) == {"models:/cancer/1"}
    last = loop.client.store.automation.events()[-1]
    assert last.kind == "rolled_back" and "error_rate<=0.05: 1 " in last.message
    failed = loop.client.store.predictions.failures(deployment="cancer-api")
    assert failed and {f.model for f in failed} == {"models:/cancer/2"}
    assert "the feature service is down" in failed[0].error


def test_a_promotion_that_breaches_afterwards_is_undone_exactly(loop: Loop) -> None:
    policy = loop.policy(
        triggers=(),
        gate=None,
        rollout=Rollout("direct", guards=("accuracy>=0.8",), after="60s", min_rows=40),
        params={"data": "cancer@latest", "broken": True},
    )
    agent = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server, traffic(server, loop):
        agent.trigger(policy.name)
        assert _until_done(agent) is JobState.ROLLED_BACK
    assert loop.kinds() == ["triggered", "trained", "gate_passed", "promoted", "rolled_back"]
    assert loop.champion() == 1  # back to the version before, not one step back from now
    assert loop.deployments.get("cancer-api").revision.routes == before.routes
    assert not loop.client.store.automation.jobs()[-1].state.active


def test_a_stage_that_cannot_show_enough_scored_rows_rolls_back_at_its_timeout(
    loop: Loop,
) -> None:
    slow = Rollout("canary", steps=(50, 100), watch="1s", timeout="4s", min_rows=40)
    policy = loop.policy(
        triggers=(), gate=None, rollout=slow, params={"data": "cancer@latest", "failing": True}
    )
    agent = loop.agent(policy)
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server, traffic(server, loop):
        agent.trigger(policy.name)
        assert _until_done(agent) is JobState.ROLLED_BACK
    last = loop.client.store.automation.events()[-1]
    assert "rows scored of the 40 needed" in last.message
    assert loop.champion() == 1


def test_without_a_champion_the_canary_shares_what_the_deployment_serves(loop: Loop) -> None:
    loop.registry.remove_alias("cancer", "champion")
    loop.deployments.set("cancer-api", ["models:/cancer/1"])
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    policy = loop.policy(triggers=(), rollout=CANARY)  # its gate is relative: to cancer/1
    agent = loop.agent(policy)
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server:
        with traffic(server, loop) as seen:
            agent.trigger(policy.name)
            assert _until_done(agent) is JobState.PROMOTED
        assert seen.failures == []
    assert loop.kinds() == ["triggered", "trained", "gate_passed", "canary", "promoted"]
    gate = loop.client.store.automation.events()[2]
    assert "against models:/cancer/1" in gate.message
    assert loop.champion() == 2


def test_a_cancelled_canary_gives_the_deployment_its_routes_back(loop: Loop) -> None:
    loop.new_data()
    slow = Rollout("canary", steps=(50, 100), watch="1h", min_rows=40)
    policy = loop.policy(triggers=(), gate=None, rollout=slow)
    agent = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    agent.trigger(policy.name)
    tick(agent)
    job = loop.client.store.automation.jobs()[-1]
    assert job.state is JobState.ROLLING
    assert len(loop.deployments.get("cancer-api").revision.primary) == 2
    ended = agent.cancel(job.id, "release freeze")
    assert ended.state is JobState.FAILED
    assert loop.deployments.get("cancer-api").revision.routes == before.routes
    last = loop.client.store.automation.events()[-1]
    assert "cancelled by hand: release freeze" in last.message and "back to" in last.message


def test_a_step_that_breaks_mid_rollout_fails_the_job_and_puts_the_routes_back(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop.new_data()
    from mloop.automation import live

    slow = Rollout("canary", steps=(50, 100), watch="1h", min_rows=40)
    policy = loop.policy(triggers=(), gate=None, rollout=slow)
    agent = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    agent.trigger(policy.name)
    tick(agent)
    assert loop.client.store.automation.jobs()[-1].state is JobState.ROLLING

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in a guard")

    monkeypatch.setattr(live, "traffic", broken)
    tick(agent)
    assert loop.client.store.automation.jobs()[-1].state is JobState.FAILED
    assert loop.deployments.get("cancer-api").revision.routes == before.routes
    assert "a bug in a guard" in loop.client.store.automation.events()[-1].message


def test_a_promotion_whose_next_step_fails_is_put_back(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop.new_data()
    from mloop.automation import Rebase
    from mloop.monitoring import Monitors

    Monitors(loop.client).create(
        "watch", deployment="cancer-api", reference="cancer@1", target="target"
    )

    def broken(*args: object) -> None:
        raise RuntimeError("the monitor could not be moved")

    monkeypatch.setattr(Monitors, "rebase", broken)
    before = loop.deployments.get("cancer-api").revision
    policy = loop.policy(triggers=(), gate=None, rebase=Rebase(("watch",), "cancer@latest"))
    agent = loop.agent(policy)
    agent.trigger(policy.name)
    tick(agent)
    assert loop.client.store.automation.jobs()[-1].state is JobState.FAILED
    assert loop.champion() == 1  # the promotion the failing step made is undone
    assert loop.deployments.get("cancer-api").revision.routes == before.routes
    assert "could not be moved" in loop.client.store.automation.events()[-1].message


def test_a_healthy_shadow_is_judged_without_latency_then_canaried_and_promoted(
    loop: Loop,
) -> None:
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    shadow = Rollout(
        "shadow",
        steps=(50, 100),
        watch="2s",
        guards=("accuracy>=-0.1", "latency_p95_ms<=10000"),
        min_rows=40,
    )
    policy = loop.policy(triggers=(), rollout=shadow)
    agent = loop.agent(policy)
    with serving(loop.client, "cancer-api", flush_seconds=0.3) as server, traffic(server, loop):
        agent.trigger(policy.name)
        assert _until_done(agent) is JobState.PROMOTED
    assert loop.kinds() == ["triggered", "trained", "gate_passed", "shadow", "canary", "promoted"]


def test_cancel_waits_for_no_agent_and_works_on_a_policy_no_agent_has(loop: Loop) -> None:
    loop.new_data()
    from mloop.errors import Conflict

    slow = Rollout("canary", steps=(50, 100), watch="1h", min_rows=40)
    policy = loop.policy(name="gone", triggers=(), gate=None, rollout=slow)
    holder = loop.agent(policy)
    before = loop.deployments.get("cancer-api").revision
    holder.trigger("gone")
    holder.tick()  # holds "gone" now, its canary set
    job = loop.client.store.automation.jobs()[-1]
    other = Agent(loop.client, [loop.policy()])  # has no policy named "gone"
    with pytest.raises(Conflict, match="held by another agent"):
        other.cancel(job.id)
    holder.release()
    assert other.cancel(job.id, "policy removed").state is JobState.FAILED
    assert loop.deployments.get("cancer-api").revision.routes == before.routes


def test_a_rollback_that_cannot_be_done_ends_the_job_saying_so(loop: Loop) -> None:
    loop.new_data()
    policy = loop.policy(
        triggers=(), gate=None, rollout=Rollout("direct", guards=("accuracy>=0.8",), after="1h")
    )
    agent = loop.agent(policy)
    agent.trigger(policy.name)
    tick(agent)
    job = loop.client.store.automation.jobs()[-1]
    assert job.state is JobState.WATCHING and loop.champion() == 2
    loop.registry.archive("cancer/1")  # the champion to go back to cannot be used now
    ended = agent.cancel(job.id, "test")
    assert ended.state is JobState.FAILED
    assert "could not put everything back" in loop.client.store.automation.events()[-1].message
