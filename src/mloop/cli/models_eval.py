"""``mloop models evaluate`` and ``mloop models card``: gates for CI, cards for people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mloop.cli import render
from mloop.cli.state import State, state
from mloop.errors import CHECKS_FAILED, InvalidArgument
from mloop.registry.card import INTENDED_USE, LIMITATIONS


def register_commands(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("card")(card)


def evaluate(
    ctx: typer.Context,
    candidate: Annotated[
        str, typer.Argument(help="The model to judge: models:/NAME/N, NAME@challenger, runs:/...")
    ],
    data: Annotated[str, typer.Option("--data", help="A dataset version, e.g. employment@2.")],
    target: Annotated[str, typer.Option("--target", "-y", help="The column of true values.")],
    task: Annotated[
        str, typer.Option("--task", help="classification or regression.")
    ] = "classification",
    baseline: Annotated[
        str | None, typer.Option("--baseline", "-b", help="The model to beat, e.g. NAME@champion.")
    ] = None,
    slice_by: Annotated[
        list[str] | None, typer.Option("--slice", help="A column to slice metrics by (repeatable).")
    ] = None,
    sensitive: Annotated[
        list[str] | None,
        typer.Option("--sensitive", help="A column to measure fairness across (repeatable)."),
    ] = None,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            "--gate",
            "-g",
            help="A gate (repeatable): 'roc_auc>=0.8', 'roc_auc>=+0.01', 'f1>=+1%', "
            "'slice_regression<=0.05', 'demographic_parity_difference<=0.1'.",
        ),
    ] = None,
    fail: Annotated[
        bool, typer.Option("--fail/--no-fail", help="Exit 9 when a gate fails (for CI).")
    ] = True,
    promote: Annotated[
        str | None,
        typer.Option(
            "--promote", help="On pass, move this alias (e.g. champion) to the candidate."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Evaluate a model against a baseline on a data version, judge gates, record the result.

    Exits 9 when a gate fails (unless --no-fail), so a CI job can stop there.

    Example: mloop models evaluate churn@challenger --data employment@2 -y employed
    -b churn@champion --sensitive SEX -g 'roc_auc>=+0.005' --promote champion
    """
    from mloop.evaluation.record import evaluate as run_evaluation

    st = state(ctx)
    if task not in ("classification", "regression"):
        raise InvalidArgument(f"--task must be classification or regression, got {task!r}")
    found = run_evaluation(
        _uri(candidate),
        data,
        target=target,
        task=task,  # type: ignore[arg-type]
        baseline=None if baseline is None else _uri(baseline),
        slices=slice_by or (),
        sensitive=sensitive or (),
        gates=gate or None,
        client=st.client(),
    )
    promoted = None
    if promote and found.passed and found.candidate is not None:
        promoted = st.registry().promote(
            found.candidate.uri, promote, reason=f"evaluation #{found.record.id}: {found.summary()}"
        )
    if as_json:
        render.print_json(st.console, {"id": found.record.id, **found.result.to_dict()})
    else:
        _print_result(st, found.record.id, found.result, promoted is not None, promote)
    if fail and not found.passed:
        raise typer.Exit(CHECKS_FAILED)


def _uri(ref: str) -> str:
    """Registered versions may be named without the models:/ prefix."""
    if ref.startswith(("models:/", "runs:/")) or Path(ref).exists():
        return ref
    return f"models:/{ref}"


def _print_result(
    st: State, number: int, result: object, promoted: bool, alias: str | None
) -> None:
    from mloop.evaluation.result import EvaluationResult

    assert isinstance(result, EvaluationResult)
    table = Table("metric", "candidate", "baseline", box=None)
    theirs = result.baseline.values if result.baseline else {}
    for key, value in result.candidate.values.items():
        table.add_row(key, _number(value), _number(theirs.get(key)) if result.baseline else "-")
    st.console.print(table)
    for item in result.fairness:
        st.console.print(
            f"fairness across {escape(item.column)}: demographic parity difference "
            f"{_number(item.candidate.demographic_parity_difference)}, equalized odds "
            f"difference {_number(item.candidate.equalized_odds_difference)}"
        )
    for check in result.checks:
        mark = "[green]pass[/green]" if check.passed else "[red]FAIL[/red]"
        st.console.print(f"{mark} {escape(check.reason)}")
    verdict = "[green]PASSED[/green]" if result.passed else "[red]FAILED[/red]"
    st.console.print(f"Evaluation #{number} {verdict}: {escape(result.summary())}")
    if promoted:
        st.console.print(f"Promoted the candidate to @{alias}.")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def card(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The version: NAME/N, NAME@champion, models:/...")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="md or html (default: from the file suffix, else md)."),
    ] = None,
    intended_use: Annotated[
        str | None, typer.Option("--intended-use", help="Record the intended use first.")
    ] = None,
    limitations: Annotated[
        str | None, typer.Option("--limitations", help="Record the known limitations first.")
    ] = None,
) -> None:
    """Render a version's model card (Markdown or HTML) from what mloop recorded.

    Nothing is invented: a field mloop does not know says so. --intended-use and
    --limitations store your words with the version, for every later card.

    Example: mloop models card churn@champion -o card.html --intended-use "Rank
    customers for retention calls; not for pricing."
    """
    from mloop.registry.card_render import to_html, to_markdown

    st = state(ctx)
    registry = st.registry()
    given = {INTENDED_USE: intended_use, LIMITATIONS: limitations}
    texts = {k: v for k, v in given.items() if v is not None}
    if texts:
        registry.update_version(ref, tags=texts)
    kind = (fmt or (output.suffix.lstrip(".") if output else "md")).lower()
    if kind not in ("md", "markdown", "html", "htm"):
        raise InvalidArgument(f"--format must be md or html, got {kind!r}")
    model_card = registry.card(ref)
    text = to_html(model_card) if kind.startswith("htm") else to_markdown(model_card)
    if output is None:
        st.console.out(text, highlight=False)
        return
    output.write_text(text, encoding="utf-8")
    st.console.print(f"Wrote the model card to {escape(str(output))}.")
