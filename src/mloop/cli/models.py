"""``mloop models``: register model packages, move aliases, read history and lineage."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mloop.cli import models_eval, models_package, render
from mloop.cli import models_views as views
from mloop.cli.state import state
from mloop.registry.client import CHAMPION

app = typer.Typer(
    help=(
        "Register model packages as numbered versions, move aliases (champion, "
        "challenger, ...) with a kept history, roll back, and trace lineage."
    ),
    no_args_is_help=True,
)

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why: kept in the alias history.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AliasOption = Annotated[str, typer.Option("--alias", "-a", help="The alias to move.")]


@app.command("register")
def register(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="runs:/RUN/PATH, a run id (its package logged as 'model'), or models:/NAME/N."
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="Model name, e.g. churn.")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="What this version is.")
    ] = "",
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="KEY=VALUE (repeatable).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Register a logged model package as the next version of a model.

    Example: mloop models register runs:/4f2a9c/model --name churn
    """
    st = state(ctx)
    version = st.registry().register(
        source, name, description=description, tags=render.parse_tags(tag)
    )
    if as_json:
        render.print_json(st.console, version)
        return
    st.console.print(
        f"Registered [bold]{escape(version.uri)}[/bold] ({version.flavor}) "
        f"[dim]{version.package[:12]}[/dim]"
    )


@app.command("list")
def list_models(ctx: typer.Context, as_json: AsJson = False) -> None:
    """List registered models with their latest version and aliases.

    Example: mloop models list
    """
    st = state(ctx)
    models = st.registry().models()
    if as_json:
        render.print_json(st.console, models)
        return
    if not models:
        st.console.print(
            "No registered models yet: log one with mloop.models.log(...) in a run, then "
            "`mloop models register runs:/RUN/model --name NAME`."
        )
        return
    st.console.print(views.models_table(models))


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (the model) or NAME/N, NAME@ALIAS, models:/...")],
    as_json: AsJson = False,
) -> None:
    """Show a model and its versions, or one version.

    Example: mloop models show churn@champion
    """
    views.show(state(ctx), ref, as_json=as_json)


@app.command("alias")
def alias(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N or NAME@ALIAS.")],
    name: Annotated[str, typer.Argument(help="The alias, e.g. challenger.")],
    reason: Reason = "",
) -> None:
    """Point an alias at a version (it moves if it pointed elsewhere).

    Example: mloop models alias churn/4 challenger -r "retrained on March data"
    """
    st = state(ctx)
    views.print_event(st, st.registry().set_alias(ref, name, reason=reason))


@app.command("unalias")
def unalias(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model name.")],
    name: Annotated[str, typer.Argument(help="The alias to remove.")],
    reason: Reason = "",
) -> None:
    """Remove an alias (its history is kept).

    Example: mloop models unalias churn challenger
    """
    st = state(ctx)
    views.print_event(st, st.registry().remove_alias(model, name, reason=reason))


@app.command("promote")
def promote(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N or NAME@challenger.")],
    to: AliasOption = CHAMPION,
    reason: Reason = "",
) -> None:
    """Make a version the champion (or another alias with --alias).

    Example: mloop models promote churn@challenger -r "passed the gate"
    """
    st = state(ctx)
    views.print_event(st, st.registry().promote(ref, to, reason=reason))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model name.")],
    name: AliasOption = CHAMPION,
    reason: Reason = "",
) -> None:
    """Move an alias back to the version it held before.

    Versions a rollback already moved away from are skipped, so rolling back
    twice goes two good versions back.

    Example: mloop models rollback churn -r "error rate up after the switch"
    """
    st = state(ctx)
    views.print_event(st, st.registry().rollback(model, name, reason=reason))


@app.command("archive")
def archive(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N.")],
) -> None:
    """Archive a version: kept and loadable, but no alias may point at it.

    Example: mloop models archive churn/2
    """
    st = state(ctx)
    version = st.registry().archive(ref)
    st.console.print(f"Archived {escape(version.uri)}.")


@app.command("restore")
def restore(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N.")],
) -> None:
    """Make an archived version usable again.

    Example: mloop models restore churn/2
    """
    st = state(ctx)
    version = st.registry().restore(ref)
    st.console.print(f"Restored {escape(version.uri)}.")


@app.command("update")
def update(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME (the model) or NAME/N (a version).")],
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="New description.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="KEY=VALUE (repeatable); KEY= deletes the tag."),
    ] = None,
) -> None:
    """Set the description or tags of a model or of one version.

    Example: mloop models update churn/3 -d "first model with March data" -t owner=ana
    """
    views.update(state(ctx), ref, description, render.parse_tags(tag))


@app.command("history")
def history(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model name.")],
    name: Annotated[str | None, typer.Option("--alias", "-a", help="Only this alias.")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="A time (ISO 8601, local unless it ends in Z): show where aliases were."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Show every move of a model's aliases: who, when, from which version, why.

    With --at, show which version each alias pointed at at that moment.

    Example: mloop models history churn --alias champion --at "2026-03-03 14:00"
    """
    views.history(state(ctx), model, name, at, as_json=as_json)


@app.command("search")
def search(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option("--name", help="Model name glob, e.g. 'churn*'.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="KEY=VALUE the version or model has.")
    ] = None,
    holding: Annotated[
        str | None, typer.Option("--alias", "-a", help="Only versions holding this alias.")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="KEY or KEY>=VALUE: a metric the version's run logged."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Find model versions by name, tag, alias or run metric.

    Example: mloop models search --name 'churn*' --metric 'roc_auc>=0.8'
    """
    views.search(state(ctx), name, render.parse_tags(tag), holding, metric, as_json=as_json)


@app.command("lineage")
def lineage(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N, NAME@champion, models:/...")],
    as_json: AsJson = False,
) -> None:
    """Print what a version came from: run, code commit, data versions, params, evaluations.

    Example: mloop models lineage churn@champion
    """
    views.lineage(state(ctx), ref, as_json=as_json)


models_eval.register_commands(app)
models_package.register_commands(app)
