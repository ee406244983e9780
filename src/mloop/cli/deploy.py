"""``mloop deploy``: named deployments with weighted (canary) and shadow routes, kept revisions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State, state
from mloop.serving.deployments import Deployments
from mloop.store import Revision

app = typer.Typer(
    help=(
        "Deployments: a name that routes traffic to registered models (by weight for a "
        "canary, plus an optional shadow), with every change kept as a revision. "
        "`mloop serve NAME` serves one and follows its changes without a restart."
    ),
    no_args_is_help=True,
)

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why: kept in the history.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_ROUTE = typer.Option(
    "--route",
    help="MODEL_URI=PERCENT, repeatable; the percents add up to 100 "
    "(e.g. --route models:/churn@champion=90 --route models:/churn@challenger=10).",
)
Routes = Annotated[list[str], _ROUTE]
Shadow = Annotated[
    str | None,
    typer.Option(
        "--shadow",
        help="A model scored on every request and logged, never answering (e.g. "
        "models:/churn@challenger).",
    ),
]


def _deployments(st: State) -> Deployments:
    return Deployments(st.client())


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deployment's name, e.g. churn-api.")],
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="The model it serves: models:/NAME@ALIAS or /N."),
    ] = None,
    route: Annotated[list[str] | None, _ROUTE] = None,
    shadow: Shadow = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    reason: Reason = "",
    as_json: AsJson = False,
) -> None:
    """Create a deployment (revision 1).

    Example: mloop deploy create churn-api --model models:/churn@champion
    """
    st = state(ctx)
    routes = ([model] if model else []) + list(route or [])
    if not routes:
        raise typer.BadParameter("give --model MODEL_URI (or --route MODEL_URI=PERCENT ...)")
    deployment = _deployments(st).create(
        name, routes, shadow=shadow, description=description, reason=reason
    )
    if as_json:
        render.print_json(st.console, deployment)
        return
    st.console.print(f"Created deployment [bold]{escape(name)}[/bold]")
    st.console.print(revision_table([deployment.revision]))
    st.console.print(f"Serve it with: mloop serve {escape(name)}")


@app.command("set")
def set_routes(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deployment.")],
    route: Routes,
    shadow: Shadow = None,
    reason: Reason = "",
    as_json: AsJson = False,
) -> None:
    """Replace the routes (a new revision); serving servers switch to it in about a second.

    Example: mloop deploy set churn-api --route models:/churn@champion=90
    --route models:/churn@challenger=10 --shadow models:/churn/7
    """
    st = state(ctx)
    revision = _deployments(st).set(name, route, shadow=shadow, reason=reason)
    _print_revision(st, revision, as_json)


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deployment.")],
    to: Annotated[
        int | None, typer.Option("--to", help="Restore this revision's routes instead.")
    ] = None,
    reason: Reason = "",
    as_json: AsJson = False,
) -> None:
    """Go back to the routes in effect before the current ones (a new revision).

    Example: mloop deploy rollback churn-api -r "p99 latency doubled"
    """
    st = state(ctx)
    revision = _deployments(st).rollback(name, to=to, reason=reason)
    _print_revision(st, revision, as_json)


@app.command("history")
def history(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The deployment.")],
    as_json: AsJson = False,
) -> None:
    """Every revision of a deployment: routes, who, when, why.

    Example: mloop deploy history churn-api
    """
    st = state(ctx)
    revisions = _deployments(st).history(name)
    if as_json:
        render.print_json(st.console, revisions)
        return
    st.console.print(revision_table(revisions, title=f"deployment {name}"))


@app.command("list")
def list_deployments(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List deployments with their current routes.

    Example: mloop deploy list
    """
    st = state(ctx)
    found = _deployments(st).all()
    if as_json:
        render.print_json(st.console, found)
        return
    if not found:
        st.console.print(
            "No deployments yet: `mloop deploy create NAME --model models:/MODEL@champion`."
        )
        return
    table = Table("name", "revision", "routes", "changed", box=None, header_style="bold")
    for deployment in found:
        current = deployment.revision
        table.add_row(
            escape(deployment.name),
            str(current.number),
            escape(routes_text(current)),
            render.when(current.created_at, short=True),
        )
    st.console.print(table)


def _print_revision(st: State, revision: Revision, as_json: bool) -> None:
    if as_json:
        render.print_json(st.console, revision)
        return
    st.console.print(
        f"Deployment [bold]{escape(revision.deployment)}[/bold] is at revision "
        f"{revision.number}: {escape(routes_text(revision))}"
    )


def routes_text(revision: Revision) -> str:
    parts = [
        route.model if len(revision.primary) == 1 else f"{route.model} {route.weight}%"
        for route in revision.primary
    ]
    parts += [f"shadow {route.model}" for route in revision.shadows]
    return ", ".join(parts)


def revision_table(revisions: list[Revision], title: str | None = None) -> Table:
    table = Table(
        "rev",
        "action",
        "routes",
        "when",
        "who",
        "reason",
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
    )
    for revision in revisions:
        action = revision.action.value
        if revision.source != revision.number:
            action += f" → {revision.source}"
        table.add_row(
            str(revision.number),
            action,
            escape(routes_text(revision)),
            render.when(revision.created_at),
            escape(revision.user),
            escape(revision.reason),
        )
    return table
