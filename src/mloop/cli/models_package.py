"""``mloop models dockerfile``: a Docker build context that serves a model package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mloop.cli.state import state
from mloop.models.dockerfile import PORT, write_context


def register_commands(app: typer.Typer) -> None:
    """Add the packaging commands to the ``mloop models`` group."""
    app.command("dockerfile")(dockerfile)


def dockerfile(
    ctx: typer.Context,
    model_uri: Annotated[
        str,
        typer.Argument(
            metavar="MODEL_URI",
            help="runs:/RUN/PATH, models:/NAME/VERSION, a package digest or a package folder.",
        ),
    ],
    dest: Annotated[
        str, typer.Argument(metavar="DIR", help="A new or empty folder for the build context.")
    ],
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            metavar="TYPE",
            help="A type the model may build beyond the trusted ones (repeatable); "
            "see docs/models.md.",
        ),
    ] = None,
) -> None:
    """Write a Dockerfile and its build context that serve a model over HTTP.

    The context holds the package (every file verified), its pinned
    requirements.txt and serve.py, a small server: GET /health, and POST /predict
    with a JSON list of records. The model is loaded once first, so a package
    that cannot be loaded fails here, not in the image.

    Example: mloop models dockerfile runs:/4da5/model ./serving
    """
    st = state(ctx)
    written = write_context(model_uri, Path(dest), client=st.client(), trusted_types=trust or [])
    st.console.print(
        f"Wrote a build context for {escape(model_uri)} to {escape(str(written))}:\n"
        f"  docker build -t my-model {escape(str(written))} && "
        f"docker run -p {PORT}:{PORT} my-model"
    )
