"""The bike-demand model of the monitoring tests (the demo's columns), and what a test gets."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from mloop.demo.bikes import CATEGORIES, FEATURES, TARGET
from mloop.tracking.client import Client
from servers import serving


@dataclass
class Bikes:
    client: Client
    reference: pd.DataFrame
    later: pd.DataFrame
    """2012, in time order."""


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[*FEATURES, TARGET]].copy()
    for name in CATEGORIES:
        out[name] = out[name].astype("category")
    return out


def replay(bikes: Bikes, rows: pd.DataFrame, per_request: int = 50) -> None:
    """Send ``rows`` as traffic through a real server, and their counts as late labels."""
    with serving(bikes.client, "bikes-api") as server:
        for start in range(0, len(rows), per_request):
            chunk = rows.iloc[start : start + per_request]
            body = json.loads(chunk[FEATURES].to_json(orient="records"))
            answer = server.http.post("/predict", json=body)
            assert answer.status_code == 200, answer.text
            labels = [int(v) for v in chunk[TARGET]]
            server.http.post(
                "/feedback", json={"request_id": answer.json()["request_id"], "labels": labels}
            )
