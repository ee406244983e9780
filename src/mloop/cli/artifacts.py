"""``mloop artifacts``: list and fetch what runs stored."""

from __future__ import annotations

from typing import Annotated

import typer

from mloop.cli import render
from mloop.cli.state import state

app = typer.Typer(help="List and download run artifacts.", no_args_is_help=True)


@app.command("list")
def list_artifacts(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a run's artifacts (folders end with /).

    Example: mloop artifacts list 3fa2c1
    """
    st = state(ctx)
    client = st.client()
    entries = client.list_artifacts(client.resolve_run_id(run_id))
    if as_json:
        render.print_json(st.console, entries)
        return
    st.console.print(render.artifact_table(entries))


@app.command("get")
def get(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    path: Annotated[
        str, typer.Argument(help="Artifact path: a file, a folder, or a file in a folder.")
    ],
    dest: Annotated[
        str, typer.Argument(help="Where to write it; into it if it is a folder or ends with /.")
    ],
) -> None:
    """Download an artifact; every byte is verified against its digest.

    Example: mloop artifacts get 3fa2c1 model/model.pkl ./model.pkl
    """
    st = state(ctx)
    client = st.client()
    written = client.download_artifact(client.resolve_run_id(run_id), path, dest)
    st.console.print(f"Wrote {written}")
