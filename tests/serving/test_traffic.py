"""Deployments under traffic: canary weights, shadows, hot swaps under load, rollback."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx
import numpy as np
import pandas as pd
import pytest

from mloop.serving import Deployments, predictions
from mloop.tracking.client import Client
from servers import Registered, register_models, serving, until


def test_canary_weights_hold_over_2000_requests(registered: Registered) -> None:
    deployments = Deployments(registered.client)
    deployments.create("bc-api", ["models:/bc@champion=90", "models:/bc@challenger=10"])
    row = registered.X.head(1).to_dict(orient="records")
    with serving(registered.client, "bc-api") as server:
        versions = [server.predict(row).json()["version"] for _ in range(2000)]
    challenger = versions.count(2)
    assert versions.count(1) + challenger == 2000
    # 10% of 2000 is 200, with a standard deviation of 13.4: allow five of them
    assert abs(challenger - 200) < 5 * 13.42, challenger


@pytest.mark.parametrize(
    "memory", [64 * 1024 * 1024, 1], ids=["in memory", "over the budget: read back"]
)
def test_a_shadow_is_logged_and_never_answers(registered: Registered, memory: int) -> None:
    X = registered.X.iloc[:25]
    Deployments(registered.client).create(
        "bc-api", "models:/bc@champion", shadow="models:/bc@challenger"
    )
    with serving(registered.client, "bc-api", log_memory_bytes=memory) as server:
        answers = [server.predict(X.iloc[[i]]).json() for i in range(len(X))]
    assert {a["model"] for a in answers} == {"models:/bc/1"}
    assert all(
        set(a) == {"request_id", "model", "version", "predictions", "probabilities", "classes"}
        for a in answers
    )
    rows = predictions("bc-api", client=registered.client)
    assert len(rows) == 25 and set(rows["shadow.model"]) == {"models:/bc/2"}
    shadow = registered.models["lr"]
    np.testing.assert_array_equal(rows["shadow.prediction"], shadow.predict(X))  # type: ignore[attr-defined]
    np.testing.assert_allclose(rows["shadow.proba.1"], shadow.predict_proba(X)[:, 1])  # type: ignore[attr-defined]
    assert rows["shadow.error"].isna().all()
    assert list(rows["request_id"]) == [a["request_id"] for a in answers]
    np.testing.assert_array_equal(rows["input.mean radius"], X["mean radius"])


@dataclass
class Outcome:
    sent: float
    received: float
    status: int
    version: int | None


def _hammer(
    url: str, body: list[dict[str, object]], stop: threading.Event, found: list[Outcome]
) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                answer = http.post("/predict", json=body)
                status = answer.status_code
                version = answer.json().get("version") if status == 200 else None
            except httpx.HTTPError:
                status, version = -1, None
            found.append(Outcome(sent, time.monotonic(), status, version))


def test_an_alias_moved_under_load_fails_no_request(registered: Registered) -> None:
    body = registered.X.head(1).to_dict(orient="records")
    Deployments(registered.client).create("bc-api", "models:/bc@champion")
    found: list[Outcome] = []
    stop = threading.Event()
    with serving(registered.client, "bc-api") as server:
        clients = [
            threading.Thread(target=_hammer, args=(server.url, body, stop, found)) for _ in range(6)
        ]
        for thread in clients:
            thread.start()
        time.sleep(0.7)
        registered.registry.promote("bc/2", reason="better on March data")
        until(lambda: any(o.version == 2 for o in found[-20:]), 20, "never switched")
        time.sleep(0.7)
        stop.set()
        for thread in clients:
            thread.join()
    assert found and all(o.status == 200 for o in found), {o.status for o in found}
    switched = min(o.received for o in found if o.version == 2)
    after = [o for o in found if o.sent > switched]
    assert after and all(o.version == 2 for o in after)
    assert any(o.version == 1 for o in found)


def test_deploy_rollback_restores_the_previous_revision_while_serving(
    registered: Registered,
) -> None:
    deployments = Deployments(registered.client)
    deployments.create("bc-api", "models:/bc/1")
    row = registered.X.head(1).to_dict(orient="records")
    with serving(registered.client, "bc-api") as server:
        assert server.predict(row).json()["version"] == 1
        deployments.set("bc-api", ["models:/bc/2"], reason="new model")
        until(lambda: server.predict(row).json()["version"] == 2)
        restored = deployments.rollback("bc-api", reason="worse live accuracy")
        until(lambda: server.predict(row).json()["version"] == 1)
        meta = server.http.get("/metadata").json()
    assert restored.number == 3 and restored.source == 1
    assert meta["revision"] == 3 and meta["routes"][0]["model"] == "models:/bc/1"
    rows = predictions("bc-api", client=registered.client)
    assert set(rows["revision"]) == {1, 2, 3}


def test_the_whole_path_on_each_store(
    client: Client, cancer: tuple[pd.DataFrame, pd.Series], fitted: dict[str, object]
) -> None:
    """Deploy, serve a canary, post labels, read the log back, switch: SQLite and PostgreSQL."""
    registered = register_models(client, cancer, fitted)
    deployments = Deployments(client)
    deployments.create("bc-api", ["models:/bc@champion=50", "models:/bc@challenger=50"])
    X, y = registered.X, registered.y
    with serving(client, "bc-api") as server:
        answers = [server.predict(X.iloc[[i]]).json() for i in range(40)]
        for i, answer in enumerate(answers):
            server.http.post(
                "/feedback", json={"request_id": answer["request_id"], "label": int(y[i])}
            )
        deployments.set("bc-api", ["models:/bc/2"])
        until(lambda: server.predict(X.iloc[[0]]).json()["version"] == 2)
    rows = predictions("bc-api", client=client).set_index("request_id")
    for i, answer in enumerate(answers):
        row = rows.loc[answer["request_id"]]
        assert row["model"] == answer["model"] and row["label"] == y[i]
        assert row["output.prediction"] == answer["predictions"][0]
    assert {a["version"] for a in answers} == {1, 2}
