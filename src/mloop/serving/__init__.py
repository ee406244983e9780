"""Serving: a scoring server that follows deployments, a prediction log, batch scoring.

    mloop deploy create churn-api --model models:/churn@champion
    mloop serve churn-api                       # POST /predict, /feedback; GET /metrics ...

    import mloop
    mloop.serving.Deployments(mloop.Client()).set(
        "churn-api", ["models:/churn@champion=90", "models:/churn@challenger=10"]
    )
    mloop.serving.predictions("churn-api", start=timedelta(hours=1))  # with late labels

``create_app`` and ``run`` (the ASGI app and the uvicorn runner) import the web
stack when first used, so ``import mloop`` stays light.
"""

from typing import Any

from mloop.serving.batch import BatchResult, score_file
from mloop.serving.deployments import Deployments, parse_route
from mloop.serving.options import ServeOptions
from mloop.serving.query import predictions

__all__ = [
    "BatchResult",
    "Deployments",
    "ServeOptions",
    "create_app",
    "parse_route",
    "predictions",
    "run",
    "score_file",
]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mloop.serving.app import create_app

        return create_app
    if name == "run":
        from mloop.serving.server import run

        return run
    raise AttributeError(f"module 'mloop.serving' has no attribute {name!r}")
