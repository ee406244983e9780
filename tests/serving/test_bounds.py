"""Bounded memory: long strings are refused by field, and the prediction buffer has a byte
budget (beyond it rows wait in the journal on disk), also while the blob store fails."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mloop.models import log_model
from mloop.serving import predictions
from servers import Registered, serve_on_free_port, serving, stop, wait_ready

MB = 1024 * 1024


def _text_model(registered: Registered) -> str:
    """A model with a string input ``note`` next to the breast-cancer columns; its URI."""
    X = registered.X.assign(note=np.where(registered.y == 1, "fine", "see doctor"))
    model = make_pipeline(
        ColumnTransformer(
            [("note", OneHotEncoder(handle_unknown="ignore"), ["note"])], remainder="passthrough"
        ),
        LogisticRegression(max_iter=5000),
    ).fit(X, registered.y)
    run = registered.client.create_run(capture_env=False)
    return log_model(registered.client, run.id, model, input_example=X.head(3)).uri


def _rows(registered: Registered, count: int, note: str) -> list[dict[str, object]]:
    frame = pd.concat([registered.X.head(1)] * count, ignore_index=True).assign(note=note)
    return frame.to_dict(orient="records")


def test_a_too_long_string_is_refused_with_its_field_named(registered: Registered) -> None:
    uri = _text_model(registered)
    with serving(registered.client, uri) as server:
        assert server.predict(_rows(registered, 1, "x" * 65_536)).status_code == 200
        answer = server.predict(_rows(registered, 2, "x" * 65_537))
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"][0]
        assert detail["field"] == "note" and detail["loc"] == ["body", 0, "note"]
        assert "65537 characters" in detail["msg"] and "65536" in detail["expected"]
    with serving(registered.client, uri, max_string_length=100_000) as server:
        assert server.predict(_rows(registered, 1, "x" * 65_537)).status_code == 200


def _vm(pid: int, field: str) -> int:
    """A /proc/PID/status figure (VmRSS, VmHWM) in bytes."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert found is not None
    return int(found.group(1)) * 1024


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, f"{name} is not in /metrics"
    return float(found.group(1))


@pytest.mark.slow
def test_memory_stays_bounded_while_the_blob_store_fails(
    registered: Registered, tmp_path: Path
) -> None:
    uri = _text_model(registered)
    blobs = Path(str(registered.client.settings.blobs))
    requests, per_request = 80, 150  # 80 requests of 150 rows of 60 kB text: 720 MB
    with serve_on_free_port(registered, uri, "--flush-seconds", "0.5") as (proc, port):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            wait_ready(http, 60)
            blobs.rename(tmp_path / "blobs-away")  # the blob store fails from now on
            blobs.write_text("not a folder")
            start = _vm(proc.pid, "VmRSS")
            body = _rows(registered, per_request, "y" * 60_000)
            for _ in range(requests):
                assert http.post("/predict", json=body).status_code == 200
            grown = _vm(proc.pid, "VmHWM") - start
            metrics = http.get("/metrics").text
            assert _metric(metrics, "mloop_prediction_log_buffered_rows") == requests * per_request
            assert _metric(metrics, "mloop_prediction_log_flush_failures_total") >= 1
            assert _metric(metrics, "mloop_prediction_log_buffered_bytes") <= 64 * MB
        blobs.unlink()
        (tmp_path / "blobs-away").rename(blobs)  # back: everything is written at the stop
        output = stop(proc, 120)
    assert grown < 350 * MB, f"the server grew by {grown / MB:.0f} MB\n{output}"
    assert len(predictions(client=registered.client)) == requests * per_request
