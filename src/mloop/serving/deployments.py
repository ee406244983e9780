"""``Deployments``: named, versioned routes from traffic to registered models.

    deployments = Deployments(mloop.Client())
    deployments.create("churn-api", "models:/churn@champion")
    deployments.set("churn-api", ["models:/churn@champion=90", "models:/churn@challenger=10"],
                    shadow="models:/churn/7")
    deployments.rollback("churn-api")           # the routes before the current ones
    deployments.history("churn-api")

Every change is a new revision (kept forever, with who, when and why); a server
started with ``mloop serve churn-api`` follows the newest one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mloop.errors import InvalidArgument, NotFound
from mloop.models.refs import is_model_uri, parse_model_ref, resolve_version
from mloop.models.signature import Signature
from mloop.models.uris import is_stored_uri
from mloop.store import Deployment, Revision, RevisionAction, Route, Store, validate
from mloop.store.entities import now_ms
from mloop.tracking.client import Client

RouteSpec = str | Route


class Deployments:
    """The deployments of ``client``'s store, in ``project``."""

    def __init__(self, client: Client, project: str = "default") -> None:
        self.client = client
        self.project = project

    @property
    def store(self) -> Store:
        return self.client.store

    def create(
        self,
        name: str,
        model: RouteSpec | Sequence[RouteSpec],
        *,
        shadow: str | None = None,
        description: str = "",
        reason: str = "",
    ) -> Deployment:
        """A new deployment serving ``model`` (or several weighted routes)."""
        routes = self._routes([model] if isinstance(model, str | Route) else model, shadow)
        return self.store.deployments.create(
            name,
            routes,
            user=self.client.settings.user,
            created_at=now_ms(),
            reason=reason,
            description=description,
            project=self.project,
        )

    def get(self, name: str) -> Deployment:
        return self.store.deployments.get(name, self.project)

    def all(self) -> list[Deployment]:
        return self.store.deployments.list_all(self.project)

    def set(
        self,
        name: str,
        routes: Sequence[RouteSpec],
        *,
        shadow: str | None = None,
        reason: str = "",
    ) -> Revision:
        """Replace the routes: a new revision, which serving servers switch to."""
        current = self.get(name).revision
        return self.store.deployments.add_revision(
            name,
            self._routes(routes, shadow),
            action=RevisionAction.SET,
            source=None,
            user=self.client.settings.user,
            created_at=now_ms(),
            reason=reason,
            expected=current.number,
            project=self.project,
        )

    def rollback(self, name: str, *, to: int | None = None, reason: str = "") -> Revision:
        """Back to the routes in effect before the current ones (or those of revision
        ``to``), as a new revision. Routes a rollback already moved away from are
        skipped, so rolling back twice goes two changes back."""
        history = self.history(name)
        current = history[-1]
        if to is None:
            target = _rollback_target(history)
            if target is None:
                raise InvalidArgument(
                    f"deployment {name!r} has nothing to roll back to: every earlier revision "
                    "holds the current routes or was rolled back from (see "
                    f"`mloop deploy history {name}`, or give --to N)"
                )
        else:
            target = self.revision(name, to)
            if target.routes == current.routes:
                raise InvalidArgument(
                    f"deployment {name!r} already has the routes of revision {to}"
                )
        return self.store.deployments.add_revision(
            name,
            target.routes,
            action=RevisionAction.ROLLBACK,
            source=target.source,
            user=self.client.settings.user,
            created_at=now_ms(),
            reason=reason or f"rolled back to the routes of revision {target.source}",
            expected=current.number,
            project=self.project,
        )

    def revision(self, name: str, number: int) -> Revision:
        return self.store.deployments.revision(name, number, self.project)

    def history(self, name: str) -> list[Revision]:
        """Every revision, oldest first."""
        return self.store.deployments.revisions(name, self.project)

    def _routes(self, specs: Sequence[RouteSpec], shadow: str | None) -> list[Route]:
        if isinstance(specs, str):
            raise InvalidArgument("routes are a list, e.g. ['models:/churn@champion=90', ...]")
        routes = [spec if isinstance(spec, Route) else parse_route(spec) for spec in specs]
        if len(routes) == 1 and routes[0].weight == 0:
            routes[0] = Route(routes[0].model, 100)
        if any(route.weight == 0 and not route.shadow for route in routes):
            raise InvalidArgument(
                "with several routes give each a weight: --route models:/m@champion=90 "
                "--route models:/m@challenger=10"
            )
        if shadow is not None:
            routes.append(Route(_model_uri(shadow), 0, shadow=True))
        if sum(route.shadow for route in routes) > 1:
            raise InvalidArgument("a deployment has at most one shadow model")
        validate.routes(routes)
        inputs = {route.model: self._inputs(route.model) for route in routes if not route.shadow}
        if len({names for names in inputs.values() if names is not None}) > 1:
            shown = "; ".join(f"{uri}: {', '.join(names or [])}" for uri, names in inputs.items())
            raise InvalidArgument(
                "the answering models take different inputs, so the same request would be "
                f"answered or refused by chance: {shown}"
            )
        return routes

    def _inputs(self, uri: str) -> tuple[str, ...] | None:
        """The input columns of the version ``uri`` names (None without a signature)."""
        try:
            version = resolve_version(self.store, uri, self.project)
        except NotFound as exc:
            raise NotFound(f"cannot route to {uri}: {exc}") from None
        if version.signature is None:
            return None
        return tuple(Signature.from_dict(json.loads(version.signature)).input_names)


def _rollback_target(history: list[Revision]) -> Revision | None:
    """The newest revision made by hand (not a rollback) that is not the current routes'
    and was not rolled back from."""
    current = history[-1]
    by_number = {revision.number: revision for revision in history}
    rolled_back_from = {
        by_number[revision.number - 1].source
        for revision in history
        if revision.action is RevisionAction.ROLLBACK
    }
    for revision in reversed(history[:-1]):
        if revision.action is RevisionAction.ROLLBACK or revision.number in rolled_back_from:
            continue
        if revision.number != current.source and revision.routes != current.routes:
            return revision
    return None


def parse_route(text: str) -> Route:
    """``models:/m@champion=90`` → Route(model, 90); without ``=W``, weight 0 (unset)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(f"a route is MODEL_URI or MODEL_URI=WEIGHT, got {text!r}")
    model, sep, weight = text.strip().rpartition("=")
    if not sep:
        return Route(_model_uri(text), 0)
    if not weight.isdecimal():
        raise InvalidArgument(f"{text!r}: the weight after '=' is a whole percent, e.g. =90")
    return Route(_model_uri(model), int(weight))


def _model_uri(text: str) -> str:
    """The canonical form of a registered model reference (models:/NAME/N or @ALIAS)."""
    if is_stored_uri(text) and not is_model_uri(text):
        raise InvalidArgument(
            f"{text!r}: a deployment routes to registered models (models:/NAME/N or "
            "models:/NAME@ALIAS); register it first with `mloop models register`"
        )
    return str(parse_model_ref(text))
