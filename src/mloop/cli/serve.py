"""``mloop serve`` (a scoring server) and ``mloop predict`` (batch scoring of a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from mloop.cli.render import SafeConsole
from mloop.cli.state import state
from mloop.errors import InvalidArgument


def serve(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A deployment name (followed as it changes), or a model: models:/NAME@ALIAS "
            "(followed as the alias moves), models:/NAME/N, runs:/RUN/PATH, a digest, a folder."
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8080,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="Worker processes (each loads the model).")
    ] = 1,
    no_log: Annotated[
        bool, typer.Option("--no-log", help="Do not write predictions to the prediction log.")
    ] = False,
    flush_rows: Annotated[
        int, typer.Option("--flush-rows", help="Write a log segment every N predictions.")
    ] = 10_000,
    flush_seconds: Annotated[
        float, typer.Option("--flush-seconds", help="... or every T seconds.")
    ] = 10.0,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between checks for a changed deployment.")
    ] = 1.0,
    max_body: Annotated[
        int, typer.Option("--max-body-bytes", help="Larger request bodies get HTTP 413.")
    ] = 10 * 1024 * 1024,
    max_rows: Annotated[
        int, typer.Option("--max-rows", help="Rows allowed in one request.")
    ] = 10_000,
    max_string: Annotated[
        int, typer.Option("--max-string-length", help="Characters allowed in one text value.")
    ] = 65_536,
    journal: Annotated[
        Path | None,
        typer.Option(
            "--journal",
            help="Folder of the prediction journal (default: .mloop/journal in the workspace, "
            "else ~/.local/state/mloop/journal).",
        ),
    ] = None,
    no_journal: Annotated[
        bool,
        typer.Option("--no-journal", help="Keep logged predictions in memory only until written."),
    ] = False,
    log_memory: Annotated[
        int,
        typer.Option(
            "--log-memory-bytes", help="Logged predictions held in memory; more wait on disk."
        ),
    ] = 64 * 1024 * 1024,
    header_timeout: Annotated[
        float,
        typer.Option("--header-timeout", help="Seconds a connection has to send its headers."),
    ] = 10.0,
    max_connections: Annotated[
        int, typer.Option("--max-connections", help="Open connections; more are answered 503.")
    ] = 1000,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    project: Annotated[
        str, typer.Option("--project", help="The project of the deployment or model.")
    ] = "default",
) -> None:
    """Serve a model or a deployment over HTTP: POST /predict, POST /feedback, GET /health,
    /ready, /metadata, /metrics (Prometheus) and /docs.

    Predictions are logged (Parquet segments in the blob store) unless --no-log; each scored
    batch is first written to a local journal, so a killed server loses no answered
    prediction (the next server of the same source writes them to the log). SIGINT or
    SIGTERM finishes the requests in flight and writes the log before exiting.

    Example: mloop serve churn-api --port 8080
    """
    from mloop.serving.options import ServeOptions
    from mloop.serving.server import run

    _check_numbers(
        port,
        workers,
        flush_seconds,
        poll,
        header_timeout,
        {
            "--flush-rows": flush_rows,
            "--max-body-bytes": max_body,
            "--max-rows": max_rows,
            "--max-string-length": max_string,
            "--log-memory-bytes": log_memory,
            "--max-connections": max_connections,
        },
    )
    st = state(ctx)
    settings = st.client().settings
    options = ServeOptions(
        source,
        uri=settings.uri,
        blobs=settings.blobs,
        project=project,
        log_predictions=not no_log,
        flush_rows=flush_rows,
        flush_seconds=flush_seconds,
        poll_seconds=poll,
        max_body_bytes=max_body,
        max_rows=max_rows,
        max_string_length=max_string,
        journal=not no_journal,
        journal_dir=None if journal is None else str(journal),
        log_memory_bytes=log_memory,
        header_timeout=header_timeout,
        max_connections=max_connections,
        announce=True,
    )
    st.console.print(f"mloop serving {source} on http://{host}:{port} (Ctrl-C stops)")
    run(options, host=host, port=port, workers=workers, access_log=access_log)


def _check_numbers(
    port: int,
    workers: int,
    flush_seconds: float,
    poll: float,
    header_timeout: float,
    counts: dict[str, int],
) -> None:
    if not 0 <= port <= 65535:
        raise InvalidArgument(f"--port {port}: a port is 0 to 65535")
    for name, value in {"--workers": workers, **counts}.items():
        if value < 1:
            raise InvalidArgument(f"{name} must be at least 1, got {value}")
    for name, seconds in (
        ("--flush-seconds", flush_seconds),
        ("--poll", poll),
        ("--header-timeout", header_timeout),
    ):
        if not 0.05 <= seconds <= 86400:
            raise InvalidArgument(f"{name} must be between 0.05 and 86400 seconds")


def predict(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="models:/NAME@ALIAS, models:/NAME/N, runs:/...")],
    source: Annotated[Path, typer.Argument(help="Input rows: a .csv or .parquet file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write (.csv/.parquet).")],
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", help="Rows read, scored and written at a time.")
    ] = 100_000,
    log: Annotated[
        bool, typer.Option("--log", help="Also append the predictions to the prediction log.")
    ] = False,
) -> None:
    """Score a file with a model, chunk by chunk (memory stays flat for any size).

    The output has the input's columns plus prediction (and proba.<class> for classifiers).

    Example: mloop predict models:/churn@champion customers.parquet -o scored.parquet
    """
    from mloop.serving.batch import score_file

    st = state(ctx)
    progress_console = SafeConsole(stderr=True)
    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=progress_console,
        transient=True,
        disable=not progress_console.is_terminal,
    )
    with bar:
        task = bar.add_task("scoring", total=None)
        result = score_file(
            model,
            source,
            output,
            client=st.client(),
            chunk_rows=chunk_rows,
            log=log,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    logged = ", logged to the prediction log" if result.logged else ""
    st.console.print(
        f"Scored {result.rows:,} rows with {result.model} into {result.output}{logged}"
    )
