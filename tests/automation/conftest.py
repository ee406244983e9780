"""A registered champion trained by the retraining pipeline, served by a deployment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import pytest

from autoflows import cancer, noise, retrain
from mloop.automation import Agent, Gate, Policy, Rollout, Trigger
from mloop.data.client import DataClient
from mloop.registry import Registry
from mloop.serving.deployments import Deployments
from mloop.store import AutomationEvent
from mloop.tracking.client import Client


def tick(agent: Agent, now: int | None = None) -> list[AutomationEvent]:
    """One tick of ``agent``, then its holds released, as a stopped agent does (so the
    next agent, a "restart", can go on at once)."""
    try:
        return agent.tick(now)
    finally:
        agent.release()


@dataclass
class Loop:
    client: Client
    frame: pd.DataFrame
    registry: Registry
    deployments: Deployments

    def policy(self, **changes: Any) -> Policy:
        base = Policy(
            "cancer-retrain",
            pipeline="autoflows:retrain",
            model="cancer",
            deployment="cancer-api",
            params={"data": "cancer@latest"},
            triggers=(Trigger.new_data("cancer"),),
            gate=Gate(
                "cancer-holdout@latest", "target", "classification", rules=("accuracy>=-0.05",)
            ),
            rollout=Rollout("direct"),
        )
        return replace(base, **changes)

    def agent(self, *policies: Policy) -> Agent:
        found = Agent(self.client, policies or [self.policy()])
        found.check()
        return found

    def kinds(self, policy: str = "cancer-retrain") -> list[str]:
        return [e.kind for e in self.client.store.automation.events(policy)]

    def new_data(self, seed: int = 1) -> None:
        """A new version of the training data, so a retrain makes a new model."""
        DataClient(self.client).add(noise(self.frame.iloc[:400], seed), "cancer")

    def champion(self) -> int:
        return self.registry.version("cancer@champion").version


@pytest.fixture
def loop(client: Client) -> Loop:
    frame = cancer()
    data = DataClient(client)
    data.add(frame.iloc[:400], "cancer")
    data.add(frame.iloc[400:], "cancer-holdout")
    result = retrain.run({"data": "cancer@1"}, client=client)
    step = next(s for s in result.steps if s.node == "fit")
    registry = Registry(client)
    registry.register(f"runs:/{step.run_id}/output", "cancer")
    registry.promote("cancer/1")
    deployments = Deployments(client)
    deployments.create("cancer-api", "models:/cancer@champion")
    return Loop(client, frame, registry, deployments)
