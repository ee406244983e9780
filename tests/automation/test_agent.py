"""The agent: triggers fire once per event across restarts, gates block, decisions are logged."""

from __future__ import annotations

import json
import threading
import time

import pytest
from typer.testing import CliRunner

from autoflows import noise
from mloop.automation import Agent, Trigger
from mloop.cli.app import app
from mloop.data.client import DataClient
from mloop.errors import InvalidArgument
from mloop.store import JobState, NewMonitor, NewMonitorEvent, NewMonitorResult
from mloop.store.entities import now_ms
from servers import until

from .conftest import Loop, tick

HOUR = 3_600_000


def test_new_data_retrains_gates_and_promotes_once_per_version(loop: Loop) -> None:
    tick(loop.agent())
    assert loop.kinds() == ["armed"]  # the versions there before do not fire
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    decided = tick(loop.agent())
    assert [e.kind for e in decided] == ["triggered", "trained", "gate_passed", "promoted"]
    assert "cancer@2" in decided[0].message
    assert loop.champion() == 2
    job = loop.client.store.automation.jobs()[0]
    assert job.state is JobState.PROMOTED
    assert json.loads(job.data)["params"] == {"data": "cancer@2"}  # fixed when triggered

    assert tick(Agent(loop.client, [loop.policy()])) == []  # a restarted agent: nothing new
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 2), "cancer")
    tick(loop.agent())
    assert len(loop.client.store.automation.jobs()) == 2
    assert loop.champion() == 3


def _monitor(loop: Loop) -> None:
    version = DataClient(loop.client).version("cancer@1")
    loop.client.store.monitors.create(
        NewMonitor("watch", "cancer-api", "cancer@1", version.id, "1h", "{}", "me", now_ms())
    )


def _event(loop: Loop, index: int, kind: str) -> None:
    result = NewMonitorResult(index, 0, 1, 10, kind == "drift", 0.5, "{}", None, now_ms())
    loop.client.store.monitors.add_result(
        "watch", result, [NewMonitorEvent(kind, f"window {index}: {kind}", "{}")]
    )


@pytest.mark.parametrize("kind", ["drift", "decay", "schedule", "manual"])
def test_each_trigger_kind_fires_exactly_once_per_event_across_a_restart(
    loop: Loop, kind: str
) -> None:
    triggers = {
        "drift": Trigger.drift("watch"),
        "decay": Trigger.decay("watch"),
        "schedule": Trigger.schedule("0 * * * *"),
        "manual": None,
    }
    if kind in ("drift", "decay"):
        _monitor(loop)
        _event(loop, 0, kind)  # before the agent first looked: history, not a trigger
    chosen = triggers[kind]
    policy = loop.policy(triggers=() if chosen is None else (chosen,), gate=None)
    t0 = 1_800_000_000_000  # on the hour
    tick(Agent(loop.client, [policy]), t0 + 1)

    def event(n: int) -> None:
        if kind in ("drift", "decay"):
            _event(loop, n, "quality")  # another kind: not this trigger's business
            _event(loop, n + 100, kind)
        elif kind == "manual":
            Agent(loop.client, [policy]).trigger(policy.name, "by hand")

    def at_hour(n: int) -> None:
        tick(Agent(loop.client, [policy]), t0 + n * HOUR + 60_000)  # a new agent every time

    event(1)
    at_hour(1)
    at_hour(1)  # restarted: the same event must not fire again
    jobs = loop.client.store.automation.jobs()
    assert [j.state for j in jobs] == [JobState.UNCHANGED]  # same data: the same model
    event(2)
    at_hour(2)
    at_hour(2)
    jobs = loop.client.store.automation.jobs()
    assert [j.state for j in jobs] == [JobState.UNCHANGED] * 2
    assert loop.kinds(policy.name).count("triggered") == 2


def test_a_trigger_during_a_run_or_its_cooldown_is_recorded_as_skipped(loop: Loop) -> None:
    policy = loop.policy(triggers=(), gate=None, cooldown="1h")
    agent = Agent(loop.client, [policy])
    agent.trigger(policy.name)
    agent.tick()
    skipped = agent.trigger(policy.name, "second")
    assert skipped is not None and skipped.state is JobState.SKIPPED
    last = loop.client.store.automation.events(policy.name)[-1]
    assert last.kind == "skipped" and "cooldown" in last.message


def test_a_gate_failure_blocks_promotion_and_records_why(loop: Loop) -> None:
    policy = loop.policy(triggers=(), params={"data": "cancer@latest", "broken": True})
    agent = loop.agent(policy)
    agent.trigger(policy.name, "try a broken model")
    revision = loop.deployments.get("cancer-api").revision.number
    decided = agent.tick()
    assert [e.kind for e in decided] == ["trained", "gated_out"]
    assert "accuracy" in decided[-1].message and "cancer/1" in decided[-1].message
    assert loop.champion() == 1
    assert loop.deployments.get("cancer-api").revision.number == revision
    assert loop.client.store.automation.jobs()[0].state is JobState.GATED_OUT


def test_a_failing_pipeline_fails_the_job_with_the_step(loop: Loop) -> None:
    policy = loop.policy(triggers=(), params={"data": "cancer@9"})
    agent = loop.agent(policy)
    agent.trigger(policy.name)
    decided = agent.tick()
    assert decided[-1].kind == "failed"
    assert (
        "failed at step load" in decided[-1].message and "has no version 9" in decided[-1].message
    )
    assert loop.champion() == 1


@pytest.mark.parametrize(
    ("trigger", "named"),
    [(Trigger.new_data("nope"), "'nope'"), (Trigger.drift("no-monitor"), "'no-monitor'")],
)
def test_a_trigger_naming_something_unknown_is_refused_before_any_work(
    loop: Loop, trigger: Trigger, named: str
) -> None:
    agent = Agent(loop.client, [loop.policy(triggers=(trigger,))])
    with pytest.raises(InvalidArgument, match=named):
        agent.check()
    assert loop.client.store.automation.events() == []


def test_cli_once_events_and_check(loop: Loop, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mloop.yaml").write_text(
        "policies:\n"
        "  - name: cancer-retrain\n"
        "    pipeline: autoflows:retrain\n"
        "    model: cancer\n"
        "    deployment: cancer-api\n"
        "    params: {data: cancer@latest}\n"
        "    triggers: [{new_data: cancer}]\n"
    )
    uri = loop.client.settings.uri
    runner = CliRunner()
    blobs = ["--blobs", loop.client.settings.blobs or ""]
    assert runner.invoke(app, ["--uri", uri, *blobs, "agent", "check"]).exit_code == 0
    once = runner.invoke(app, ["--uri", uri, *blobs, "agent", "--once"])
    assert once.exit_code == 0, once.output
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    once = runner.invoke(app, ["--uri", uri, *blobs, "agent", "--once"])
    assert "promoted" in once.output, once.output
    shown = runner.invoke(app, ["--uri", uri, *blobs, "events", "--json"])
    kinds = [e["kind"] for e in json.loads(shown.output)]
    assert kinds == ["armed", "triggered", "trained", "gate_passed", "promoted"]
    (tmp_path / "mloop.yaml").write_text("policies:\n  - name: x\n    pipelin: a:b\n")
    bad = runner.invoke(app, ["--uri", uri, *blobs, "agent", "check"])
    assert bad.exit_code != 0 and "line 3" in bad.output and "pipelin" in bad.output


def test_a_promotion_moves_the_policys_monitors_to_the_new_training_data(loop: Loop) -> None:
    from mloop.automation import Rebase
    from mloop.monitoring import Monitors

    monitors = Monitors(loop.client)
    monitors.create("watch", deployment="cancer-api", reference="cancer@1", target="target")
    before = monitors.get("watch").baseline
    policy = loop.policy(triggers=(), gate=None, rebase=Rebase(("watch",), "cancer@latest"))
    agent = loop.agent(policy)
    DataClient(loop.client).add(noise(loop.frame.iloc[:400], 1), "cancer")
    agent.trigger(policy.name)
    decided = agent.tick()
    assert [e.kind for e in decided] == ["trained", "gate_passed", "promoted", "rebased"]
    assert "cancer@2" in decided[-1].message
    watch = monitors.get("watch")
    assert watch.reference == "cancer@2"
    assert watch.baseline != before  # the new model's statistics


def test_a_rebase_naming_an_unknown_monitor_is_refused_before_any_work(loop: Loop) -> None:
    from mloop.automation import Rebase

    agent = Agent(loop.client, [loop.policy(rebase=Rebase(("nope",), "cancer@latest"))])
    with pytest.raises(InvalidArgument, match="nope"):
        agent.check()


def test_two_agents_never_work_on_one_policy_at_once(loop: Loop) -> None:
    loop.new_data()
    policy = loop.policy(triggers=(), gate=None)
    first, second = Agent(loop.client, [policy]), Agent(loop.client, [policy])
    first.tick()  # holds the policy now
    second.trigger(policy.name)
    assert second.tick() == []  # held by the first: left alone
    assert loop.client.store.automation.jobs()[0].state is JobState.QUEUED
    first.release()
    assert [e.kind for e in second.tick()] == ["trained", "gate_passed", "promoted"]
    second.release()


def test_a_long_training_does_not_hold_up_another_policys_rollout(loop: Loop) -> None:
    loop.new_data()
    loop.registry.register("models:/cancer/1", "cancer2")
    loop.registry.promote("cancer2/1")
    loop.deployments.create("cancer2-api", "models:/cancer2@champion")
    slow = loop.policy(
        name="slow", triggers=(), gate=None, params={"data": "cancer@latest", "sleep": 4.0}
    )
    quick = loop.policy(
        name="quick", model="cancer2", deployment="cancer2-api", triggers=(), gate=None
    )
    agent = Agent(loop.client, [slow, quick])
    automation = loop.client.store.automation
    agent.trigger("slow")
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(0.1, stop))
    runner.start()
    try:
        time.sleep(0.5)  # the slow one is training now
        agent.trigger("quick")
        until(lambda: automation.last_job("quick").state is JobState.PROMOTED, 10)
        assert automation.last_job("slow").state is JobState.QUEUED  # still training
        until(lambda: automation.last_job("slow").state is JobState.PROMOTED, 30)
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()
    assert loop.champion() == 2


def test_a_retrain_that_makes_the_champion_again_rolls_nothing_out(loop: Loop) -> None:
    policy = loop.policy(triggers=())
    agent = loop.agent(policy)
    agent.trigger(policy.name)
    decided = tick(agent)
    assert [e.kind for e in decided] == ["unchanged"]
    assert "models:/cancer/1's package again" in decided[0].message
    assert [v.version for v in loop.registry.versions("cancer")] == [1]  # nothing registered
