"""A canary's routes: the deployment's own routes scaled down, its shadow kept."""

from __future__ import annotations

from mloop.automation.rollout import split
from mloop.store import Revision, RevisionAction, Route


def test_a_canary_split_keeps_every_route_in_proportion_and_the_shadow() -> None:
    before = Revision(
        1,
        "api",
        1,
        (Route("models:/m@champion", 70), Route("models:/m/2", 30), Route("models:/m/1", 0, True)),
        RevisionAction.SET,
        1,
        "me",
        0,
        "",
    )
    routes = split(before, "models:/m/3", 10)
    assert routes == [
        Route("models:/m@champion", 63),
        Route("models:/m/2", 27),
        Route("models:/m/3", 10),
        Route("models:/m/1", 0, True),
    ]
    assert sum(r.weight for r in routes) == 100
