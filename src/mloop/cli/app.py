"""The ``mloop`` command: global options, sub-commands, and one error policy.

Any :class:`~mloop.errors.MloopError` ends the command with a one-line reason on
stderr and the exit code from :data:`mloop.errors.EXIT_CODES`; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import sys
import traceback
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from typer.core import TyperGroup

from mloop import __version__
from mloop.cli import (
    agent,
    artifacts,
    ci,
    data,
    demo,
    deploy,
    drift,
    experiments,
    models,
    monitor,
    pipeline,
    predictions,
    runs,
    serve,
    workspace,
)
from mloop.cli.render import SafeConsole
from mloop.cli.state import State
from mloop.errors import MloopError, exit_code


class _Group(TyperGroup):
    """Translates mloop errors raised by any sub-command into a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MloopError as error:
            _fail(ctx, str(error), exit_code(error))
        except OSError as error:  # a file or folder the user named: still one line
            _fail(ctx, str(error), 1)
        finally:
            if isinstance(ctx.obj, State):
                ctx.obj.close()


def _fail(ctx: Any, message: str, code: int) -> NoReturn:
    """One line on stderr and the exit code; with --debug the traceback first."""
    err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(ctx.obj, State) and ctx.obj.debug:
        err.print(traceback.format_exc(), markup=False)
    err.print(f"[red]error:[/red] {escape(message)}")
    raise SystemExit(code) from None


app = typer.Typer(
    cls=_Group,
    name="mloop",
    help=(
        "mloop: the machine-learning lifecycle in one tool: experiment tracking, versioned "
        "and validated datasets, model packages with a registry and evaluation gates, "
        "serving (deployments with canary and shadow routes, a prediction log with late "
        "labels, batch scoring), monitoring (drift, decay, data quality, reports, alerts) "
        "and pipelines of cached steps on a local or Dask executor, on SQLite or PostgreSQL, "
        "with content-addressed storage on disk or S3.\n\n"
        "Start with `mloop init` in a project folder, then run your training script "
        "with `mloop.start_run()`; `mloop runs list` shows what happened."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"mloop {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri", envvar="MLOOP_URI", help="Metadata store: sqlite:///PATH or postgresql://..."
        ),
    ] = None,
    blobs: Annotated[
        str | None,
        typer.Option(
            "--blobs", envvar="MLOOP_BLOBS", help="Blob store: a folder or s3://bucket/prefix."
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = State(uri=uri, blobs=blobs, debug=debug, console=SafeConsole())


app.command("init")(workspace.init)
app.command("gc")(workspace.gc)
app.command("fsck")(workspace.fsck)
app.add_typer(runs.app, name="runs")
app.add_typer(experiments.app, name="experiments")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("drift")(drift.drift)
app.command("serve")(serve.serve)
app.command("predict")(serve.predict)
app.add_typer(deploy.app, name="deploy")
app.add_typer(predictions.app, name="predictions")
app.add_typer(monitor.app, name="monitor")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(ci.app, name="ci")
app.add_typer(agent.app, name="agent")
app.command("events")(agent.events)
app.command("demo")(demo.demo)
app.add_typer(workspace.db_app, name="db")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mloop`` console script."""
    app(args=argv if argv is not None else sys.argv[1:], prog_name="mloop")
