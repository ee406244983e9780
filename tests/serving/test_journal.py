"""The prediction journal: a scoring server killed with SIGKILL loses no answered prediction.

Every scored micro-batch is written to a local journal before its answers go out; the
next server of the same source (or `mloop predictions recover`) writes what the killed
one had not flushed to the log, once.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from mloop.cli.app import app
from mloop.errors import BackendUnavailable
from mloop.store import NewSegment, PredictionSegment, PredictionStore, Store
from mloop.tracking.client import Client
from servers import (
    Registered,
    logged_ids,
    serve_on_free_port,
    serving,
    start_load,
    until,
    wait_ready,
)

ROUNDS = 5
CLIENTS = 8


@pytest.mark.slow
def test_sigkill_under_load_loses_no_answered_prediction(registered: Registered) -> None:
    seed = random.randrange(2**32)
    draw = random.Random(seed)
    answered: list[str] = []
    body = registered.X.head(1).to_dict(orient="records")
    for round_ in range(ROUNDS):
        with serve_on_free_port(registered, "models:/bc@champion") as (proc, port):
            url = f"http://127.0.0.1:{port}"  # the server flushes every 10 s
            with httpx.Client(base_url=url, timeout=10) as http:
                wait_ready(http, 60)
            # this server wrote what the killed one had answered but not flushed
            until(
                lambda: set(answered) <= set(logged_ids(registered.client)),
                20,
                f"round {round_} (seed {seed}): answered predictions of the killed server "
                "are missing from the log",
            )
            now, clients = start_load(url, body, CLIENTS)
            until(lambda got=now: len(got) >= 30, 30, "the server answers too slowly")
            time.sleep(draw.uniform(0, 1.0))  # under load, at a random moment
            proc.kill()
            proc.communicate(timeout=30)
            for thread in clients:
                thread.join(30)
        answered.extend(now)
    settings = registered.client.settings
    result = CliRunner().invoke(
        app,
        ["--uri", settings.uri, "--blobs", str(settings.blobs), "predictions", "recover"],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    logged = logged_ids(registered.client)
    assert set(answered) <= set(logged), f"seed {seed}"
    assert len(logged) == len(set(logged)), "a prediction was logged twice"


class _LostAnswer:
    """A prediction index that stores the first ``stored`` segments it is given but answers
    with an error (the connection dropped after the commit), and is unreachable from the
    first one on."""

    def __init__(self, real: PredictionStore, stored: int = 1) -> None:
        self.real = real
        self.stored = stored
        self.calls = 0

    def add_segment(self, new: NewSegment, project: str = "default") -> PredictionSegment:
        self.calls += 1
        if self.calls <= self.stored:
            self.real.add_segment(new, project)
        raise BackendUnavailable("the connection to the store was lost")

    def __getattr__(self, name: str) -> Any:
        if self.calls:
            raise BackendUnavailable("the store cannot be reached")
        return getattr(self.real, name)


class _Store:
    """The real store, with the prediction index above."""

    def __init__(self, real: Store, predictions: _LostAnswer) -> None:
        self.real = real
        self.predictions = predictions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _flaky(registered: Registered, lost: _LostAnswer) -> Client:
    settings = registered.client.settings
    return Client(settings.uri, blobs=settings.blobs, store=_Store(registered.client.store, lost))


def test_a_segment_stored_before_a_crash_is_not_logged_twice(registered: Registered) -> None:
    lost = _LostAnswer(registered.client.store.predictions)
    flaky = _flaky(registered, lost)
    rows = registered.X.head(1)
    answered = []
    with serving(flaky, "models:/bc@champion", flush_rows=10, flush_seconds=3600) as server:
        answered += [server.predict(rows).json()["request_id"] for _ in range(10)]
        until(lambda: lost.calls >= 1)  # stored, but the server heard of an error
        answered += [server.predict(rows).json()["request_id"] for _ in range(10)]
    # the server stopped without knowing what was stored: its journal says it tried
    assert 10 <= len(logged_ids(registered.client)) < 20
    with serving(registered.client, "models:/bc@champion"):  # writes the rest of the journal
        until(lambda: len(logged_ids(registered.client)) >= 20)
    logged = logged_ids(registered.client)
    assert sorted(logged) == sorted(answered)


def test_a_record_altered_on_disk_costs_its_own_rows_only(registered: Registered) -> None:
    rows = registered.X.head(1)
    lost = _LostAnswer(registered.client.store.predictions, stored=0)
    with serving(_flaky(registered, lost), "models:/bc/1", flush_rows=1) as server:
        ids = [server.predict(rows).json()["request_id"] for _ in range(5)]
    # the store was away: the journal holds them; a bit flips in the first record
    first = sorted(Path(os.environ["XDG_STATE_HOME"]).glob("mloop/journal/*/*/*.log"))[0]
    with open(first, "r+b") as file:
        file.seek(40)
        byte = file.read(1)
        file.seek(40)
        file.write(bytes([byte[0] ^ 0xFF]))
    with serving(registered.client, "models:/bc/1"):  # writes the journal, but that record
        until(lambda: len(logged_ids(registered.client)) >= 4)
    assert sorted(logged_ids(registered.client)) == sorted(ids[1:])
