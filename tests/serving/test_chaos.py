"""Chaos: `mloop serve` killed with SIGKILL at random points, again and again, under load.

Kills land while it starts (and writes the journals of the servers killed before it),
while it answers 8 clients, and while it writes segments (it flushes every 0.2 s).
After every restart, each prediction answered so far is in the log, once. The test is
bounded: at most ROUNDS kills, and no new round after BUDGET seconds.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from mloop.cli.app import app
from servers import Registered, logged_ids, serve_on_free_port, start_load, until, wait_ready

ROUNDS = 8
BUDGET = 50.0
CLIENTS = 8


def _round(registered: Registered, journal: Path, draw: random.Random, answered: list[str]) -> str:
    """Start a server, maybe load it, kill it at a random point; what the kill hit."""
    flags = ("--journal", str(journal), "--flush-rows", "50", "--flush-seconds", "0.2")
    with serve_on_free_port(registered, "models:/bc@champion", *flags) as (proc, port):
        url = f"http://127.0.0.1:{port}"
        if draw.random() < 0.3:  # while it starts, loads the model, writes old journals
            time.sleep(draw.uniform(0.2, 3.0))
            return "starting"  # (killed on the way out)
        with httpx.Client(base_url=url, timeout=10) as http:
            wait_ready(http, 60)
        until(
            lambda: set(answered) <= set(logged_ids(registered.client)),
            30,
            "answered predictions of a killed server are missing from the log",
        )
        now, clients = start_load(url, registered.X.head(1).to_dict(orient="records"), CLIENTS)
        time.sleep(draw.uniform(0.0, 1.5))
        proc.kill()
        proc.communicate(timeout=30)
        for thread in clients:
            thread.join(30)
    answered.extend(now)
    return "serving"


@pytest.mark.slow
def test_serve_killed_at_random_points_logs_every_answer_once(
    registered: Registered, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    draw = random.Random(seed)
    journal = tmp_path / "journal"
    answered: list[str] = []
    hits: list[str] = []
    started = time.monotonic()
    while len(hits) < ROUNDS and time.monotonic() - started < BUDGET:
        hits.append(_round(registered, journal, draw, answered))
    assert "serving" in hits, f"seed {seed}: no round killed a loaded server"
    settings = registered.client.settings
    result = CliRunner().invoke(
        app,
        [
            *("--uri", settings.uri, "--blobs", str(settings.blobs)),
            *("predictions", "recover", "--journal", str(journal)),
        ],
        env={"COLUMNS": "200", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    logged = logged_ids(registered.client)
    assert set(answered) <= set(logged), f"seed {seed}, rounds {hits}"
    assert len(logged) == len(set(logged)), f"seed {seed}, rounds {hits}: logged twice"
    left = [path for path in journal.glob("*/*") if not path.name.startswith(".")]
    assert not left, "journals were left behind"  # (a hidden one was killed being made)
