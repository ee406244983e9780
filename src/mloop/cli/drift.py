"""``mloop drift``: data drift between two dataset versions or files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import state
from mloop.data.refs import is_local
from mloop.errors import CHECKS_FAILED, InvalidArgument


def drift(
    ctx: typer.Context,
    reference: Annotated[
        str,
        typer.Argument(help="The reference: a dataset version (NAME@N) or a .csv/.parquet file."),
    ],
    current: Annotated[
        str, typer.Argument(help="The current data: a dataset version or a .csv/.parquet file.")
    ],
    columns: Annotated[
        str | None, typer.Option("--columns", "-c", help="Comma-separated columns (default: all).")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method", help="Force one test: ks, wasserstein, chisquare, jensenshannon, psi."
        ),
    ] = None,
    drift_share: Annotated[
        float, typer.Option("--drift-share", help="Share of drifted columns that is dataset drift.")
    ] = 0.5,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write a self-contained HTML report.")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit 9 when the dataset drifted (for CI).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare the distribution of every column: which drifted, by which test, how much.

    A dataset version as the reference keeps its statistics, so later comparisons do
    not read it again. Tests are chosen per column (see docs/monitoring.md).

    Example: mloop drift bikes@1 bikes@2 --fail-on-drift
    """
    from mloop.monitoring import detect
    from mloop.monitoring.reference import build_reference
    from mloop.monitoring.sources import read_table, stored_reference

    st = state(ctx)
    data = st.data()
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise InvalidArgument(f"--report {report}: the report is an .html file")
    if is_local(reference):
        ref_label, ref_data = read_table(data, reference)
        ref_stats = build_reference(ref_data, names)
    else:
        version, ref_stats = stored_reference(data, reference)
        ref_label = version.ref
    cur_label, cur_data = read_table(data, current)
    result = detect(ref_stats, cur_data, columns=names, method=method, drift_share=drift_share)
    if report is not None:
        from mloop.monitoring.report import write_drift_report

        write_drift_report(report, result, ref_stats, cur_data, title=f"{ref_label} → {cur_label}")
    if as_json:
        render.print_json(
            st.console, {"reference": ref_label, "current": cur_label, **result.to_dict()}
        )
    else:
        st.console.print(
            f"[bold]{escape(ref_label)} → {escape(cur_label)}[/bold]: {escape(result.summary())}"
        )
        st.console.print(feature_table(result))
        if report is not None:
            st.console.print(f"Report written to {report}")
    if fail_on_drift and result.drifted:
        raise typer.Exit(CHECKS_FAILED)


def feature_table(result: object) -> Table:
    from mloop.monitoring import DriftResult

    assert isinstance(result, DriftResult)
    table = Table(box=None, header_style="bold")
    for name in ("column", "kind", "test", "statistic", "p-value", "threshold", "drifted"):
        table.add_column(
            name, justify="right" if name in ("statistic", "p-value", "threshold") else "left"
        )
    for f in sorted(result.features, key=lambda f: -f.score):
        table.add_row(
            escape(f.column),
            f.kind,
            f.test,
            "-" if f.statistic is None else f"{f.statistic:.4g}",
            "-" if f.p_value is None else f"{f.p_value:.3g}",
            f"{f.threshold:g}",
            "[red]yes[/red]" if f.drifted else ("-" if f.note else "no"),
        )
    return table
