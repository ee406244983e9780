"""``mloop ci check``: data validation and the model gate in one step of a CI job."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from mloop.cli import render
from mloop.cli.data_schema import check_data
from mloop.cli.state import state
from mloop.errors import CHECKS_FAILED, InvalidArgument

app = typer.Typer(
    help="Checks for a CI job: the data validates, and the candidate model passes its gates.",
    no_args_is_help=True,
)


@app.command("check")
def check(
    ctx: typer.Context,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Data to validate: a version (bikes@2) or a local file."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="For local data: validate against this dataset's schema."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Also compare the data with this version's profile."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="The candidate: models:/NAME/N, runs:/RUN/model.")
    ] = None,
    eval_data: Annotated[
        str | None, typer.Option("--eval-data", help="The version to evaluate it on.")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="The label column of --eval-data.")
    ] = None,
    task: Annotated[
        str, typer.Option("--task", help="classification or regression.")
    ] = "classification",
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Compare with this model, e.g. models:/NAME@champion."),
    ] = None,
    gate: Annotated[
        list[str] | None,
        typer.Option("--gate", "-g", help="A gate, e.g. roc_auc>=0.9 or accuracy>=+0.01."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Validate data and gate a model; exit 9 when either check fails (0 when all pass).

    Example: mloop ci check --data incoming/week.csv --dataset bikes
    --model models:/bikes/7 --eval-data bikes-holdout@1 --target cnt --task regression
    --baseline models:/bikes@champion --gate "mae<=+0"
    """
    st = state(ctx)
    if data is None and model is None:
        raise InvalidArgument("nothing to check: give --data, --model, or both")
    outcome: dict[str, object] = {}
    passed = True
    if data is not None:
        report = check_data(st.data(), data, dataset=dataset, reference=reference)
        outcome["data"] = report.to_dict()
        passed &= report.passed
        if not as_json:
            verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
            st.console.print(
                f"data {escape(data)}: {verdict} ({len(report.errors)} errors, "
                f"{len(report.warnings)} warnings)"
            )
            for anomaly in report.errors:
                st.console.print(f"  [red]error[/red] {escape(anomaly.message)}")
    if model is not None:
        if eval_data is None or target is None:
            raise InvalidArgument("--model needs --eval-data and --target to evaluate it on")
        from mloop.evaluation.record import evaluate

        result = evaluate(
            model,
            eval_data,
            target=target,
            task=task,  # type: ignore[arg-type]
            baseline=baseline,
            gates=gate or None,
            importance=False,
            client=st.client(),
        )
        outcome["model"] = {
            "passed": result.passed,
            "summary": result.result.summary(),
            "reasons": result.reasons,
            "evaluation": result.record.id,
        }
        passed &= result.passed
        if not as_json:
            verdict = "[green]passed[/green]" if result.passed else "[red]failed[/red]"
            st.console.print(f"model {escape(model)}: {verdict}: {escape(result.result.summary())}")
    if as_json:
        render.print_json(st.console, {"passed": passed, **outcome})
    if not passed:
        raise typer.Exit(CHECKS_FAILED)
