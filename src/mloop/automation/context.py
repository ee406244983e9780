"""What a job's step works with, and what it decides."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mloop.automation.policy import Policy
from mloop.store import Job, JobState, NewAutomationEvent
from mloop.tracking.client import Client


@dataclass(frozen=True, slots=True)
class Context:
    client: Client
    policy: Policy
    project: str
    now: int

    def event(self, kind: str, message: str, **details: Any) -> NewAutomationEvent:
        return NewAutomationEvent(
            self.policy.name,
            kind,
            message,
            json.dumps(details, sort_keys=True, default=str),
            self.client.settings.user,
            self.now,
        )


@dataclass(slots=True)
class Decision:
    """A job's next state, its data from now on, and the events that say why."""

    state: JobState
    data: dict[str, Any]
    events: list[NewAutomationEvent] = field(default_factory=list)


def job_data(job: Job) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(job.data)
    return data
