"""What a job's step works with, and what it decides."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from mloop.automation.policy import Policy
from mloop.errors import InvalidArgument, NotFound
from mloop.store import Job, JobState, NewAutomationEvent
from mloop.tracking.client import Client


@dataclass(frozen=True, slots=True)
class Context:
    client: Client
    policy: Policy
    project: str
    now: int
    job: Job | None = None

    def champion(self) -> str | None:
        """The policy model's champion (``models:/NAME/N``), None when there is none."""
        from mloop.registry import Registry

        try:
            return Registry(self.client, self.project).version(f"{self.policy.model}@champion").uri
        except (NotFound, InvalidArgument):
            return None

    def save(self, data: dict[str, Any]) -> None:
        """Write ``data`` to the job now, before a step changes live traffic, so a step
        done again after an interruption knows what it found the first time."""
        if self.job is not None:
            self.client.store.automation.advance(
                self.job.id, self.job.state, self.job.state, json.dumps(data), []
            )

    def note(self, kind: str, message: str, **details: Any) -> None:
        """Log a decision that does not move the job (such as waiting)."""
        job_id = None if self.job is None else self.job.id
        event = self.event(kind, message, **details)
        self.client.store.automation.record(replace(event, job_id=job_id), self.project)

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
