"""Deployments through the Python API: routes, rollbacks, and refusals that change nothing."""

from __future__ import annotations

import pytest

from mloop.errors import Conflict, InvalidArgument, NotFound
from mloop.serving import Deployments, parse_route
from mloop.store import RevisionAction, Route
from servers import Registered


@pytest.fixture
def deployments(registered: Registered) -> Deployments:
    return Deployments(registered.client)


def test_routes_are_parsed_and_normalised() -> None:
    assert parse_route("models:/bc@champion=90") == Route("models:/bc@champion", 90)
    assert parse_route("bc/3") == Route("models:/bc/3", 0)
    assert parse_route("bc") == Route("models:/bc@latest", 0)
    for bad in ("", "models:/bc@champion=ten", "models:/bc@Champ=5", "=5"):
        with pytest.raises(InvalidArgument):
            parse_route(bad)


def test_rollback_goes_back_one_change_at_a_time(deployments: Deployments) -> None:
    deployments.create("bc-api", "models:/bc/1")
    deployments.set("bc-api", ["models:/bc/2"])
    deployments.set("bc-api", ["models:/bc@champion=50", "models:/bc@challenger=50"])
    first = deployments.rollback("bc-api")
    second = deployments.rollback("bc-api")
    assert (first.number, first.source, first.routes) == (4, 2, (Route("models:/bc/2", 100),))
    assert (second.number, second.source, second.routes) == (5, 1, (Route("models:/bc/1", 100),))
    with pytest.raises(InvalidArgument, match="nothing to roll back to"):
        deployments.rollback("bc-api")
    again = deployments.rollback("bc-api", to=3)
    assert again.routes == deployments.history("bc-api")[2].routes
    assert [r.action for r in deployments.history("bc-api")][-3:] == [RevisionAction.ROLLBACK] * 3
    assert "revision 1" in second.reason


@pytest.mark.parametrize(
    ("routes", "shadow", "error", "words"),
    [
        (["models:/bc/9"], None, NotFound, "no version 9"),
        (["models:/nope@champion"], None, NotFound, "no registered model"),
        (["models:/bc@staging"], None, NotFound, "no alias @staging"),
        (["models:/bc/1=70", "models:/bc/2=20"], None, InvalidArgument, "add up to 90%"),
        (["models:/bc/1", "models:/bc/2"], None, InvalidArgument, "give each a weight"),
        (["models:/bc/1"], "models:/bc/1", InvalidArgument, "two routes"),
        (["runs:/abc/model"], None, InvalidArgument, "register it first"),
        ("models:/bc/1", None, InvalidArgument, "a list"),
    ],
)
def test_bad_changes_leave_the_deployment_as_it_was(
    deployments: Deployments,
    routes: list[str],
    shadow: str | None,
    error: type[Exception],
    words: str,
) -> None:
    deployments.create("bc-api", "models:/bc/1")
    with pytest.raises(error, match=words):
        deployments.set("bc-api", routes, shadow=shadow)
    assert [r.number for r in deployments.history("bc-api")] == [1]


def test_create_refuses_a_taken_name_and_unknown_deployments_are_named(
    deployments: Deployments,
) -> None:
    deployments.create("bc-api", "models:/bc@champion", description="the public API")
    with pytest.raises(Conflict, match="mloop deploy set bc-api"):
        deployments.create("bc-api", "models:/bc/2")
    with pytest.raises(NotFound, match="no deployment named 'ghost'"):
        deployments.set("ghost", ["models:/bc/1"])
    assert deployments.get("bc-api").description == "the public API"
    assert [d.name for d in deployments.all()] == ["bc-api"]


def test_a_plain_rollback_after_a_chosen_one_skips_what_was_rolled_back(
    deployments: Deployments,
) -> None:
    deployments.create("bc-api", "models:/bc/1")
    deployments.set("bc-api", ["models:/bc/2"])
    deployments.set("bc-api", ["models:/bc/1=50", "models:/bc/2=50"])
    deployments.rollback("bc-api", to=1)  # away from the canary of revision 3
    back = deployments.rollback("bc-api")
    assert back.routes == (Route("models:/bc/2", 100),) and back.source == 2


def test_answering_models_must_take_the_same_inputs(
    deployments: Deployments, registered: Registered
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from mloop.models import log_model

    X, y = load_iris(return_X_y=True, as_frame=True)
    run = registered.client.create_run(capture_env=False)
    info = log_model(
        registered.client,
        run.id,
        LogisticRegression(max_iter=500).fit(X, y),
        input_example=X.head(2),
    )
    registered.registry.register(info.uri, "iris")
    deployments.create("bc-api", "models:/bc/1")
    with pytest.raises(InvalidArgument, match="take different inputs"):
        deployments.set("bc-api", ["models:/bc/1=50", "models:/iris/1=50"])
    revision = deployments.set("bc-api", ["models:/bc/1"], shadow="models:/iris/1")
    assert revision.number == 2  # a shadow may differ: its failures are only logged
