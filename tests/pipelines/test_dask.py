"""The Dask executor on a LocalCluster started here, on 127.0.0.1: the same digests as local."""

from __future__ import annotations

import flows
from mloop.tracking.client import Client


def test_local_and_dask_give_identical_digests(client: Client, scheduler: str) -> None:
    assert scheduler.startswith("tcp://127.0.0.1:")
    local = flows.training.run({"rows": 300}, client=client, cache=False)
    remote = flows.training.run({"rows": 300}, client=client, cache=False, executor=scheduler)
    assert remote.run.executor == scheduler
    assert remote.outputs == local.outputs  # the model package too
    assert remote.output == local.output
    again = flows.training.run({"rows": 300}, client=client, executor=scheduler)
    assert {s.status.value for s in again.steps} == {"REUSED"}
