"""Model cards, built only from the record: what is not recorded says so.

A card is a list of sections of text and tables; :mod:`mloop.registry.card_render`
turns it into Markdown or self-contained HTML. Intended use and limitations are
the user's words, kept as version tags (``mloop.card.intended_use``,
``mloop.card.limitations``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mloop.data.client import DataClient
from mloop.evaluation.result import EvaluationResult
from mloop.registry.lineage import Lineage
from mloop.store import RunInput

INTENDED_USE = "mloop.card.intended_use"
LIMITATIONS = "mloop.card.limitations"
UNKNOWN = "Not recorded."
_TOP_FEATURES = 10
_PROFILE_COLUMNS = 30


@dataclass(frozen=True, slots=True)
class CardTable:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[CardTable] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ModelCard:
    title: str
    sections: list[Section]


def build_card(found: Lineage, data: DataClient) -> ModelCard:
    """The card of ``found.version`` from its lineage, data profiles and latest evaluation."""
    version = found.version
    evaluation = found.evaluations[0] if found.evaluations else None
    result = (
        None if evaluation is None else EvaluationResult.from_dict(json.loads(evaluation.result))
    )
    sections = [
        _overview(found),
        Section("Intended use", [version.tags.get(INTENDED_USE) or "Not stated by the owner."]),
        Section("Limitations", [version.tags.get(LIMITATIONS) or "Not stated by the owner."]),
        _training_data(found.inputs, data),
        _metrics(found, result),
        *_evaluation(evaluation.id if evaluation else None, result),
        _lineage(found),
    ]
    return ModelCard(f"Model card: {version.model} version {version.version}", sections)


def _overview(found: Lineage) -> Section:
    v = found.version
    rows = [
        ("Model", f"{v.model} version {v.version} ({v.uri})"),
        ("Aliases", ", ".join(f"@{a}" for a in v.aliases) or "none"),
        ("Status", v.status.value.lower()),
        ("Flavor", v.flavor),
        ("Package", v.package),
        ("Registered", f"{_when(v.created_at)} by {v.user}"),
        ("Description", v.description or "None given."),
    ]
    tables = [CardTable(("field", "value"), rows)]
    if v.signature:
        inputs = json.loads(v.signature).get("inputs") or []
        tables.append(
            CardTable(
                ("input column", "type"),
                [(str(c.get("name")), str(c.get("type"))) for c in inputs if isinstance(c, dict)],
            )
        )
    return Section("Overview", tables=tables)


def _training_data(inputs: list[RunInput], data: DataClient) -> Section:
    if not inputs:
        return Section("Training data", ["No data version was logged by the training run."])
    lines, tables = [], []
    for item in inputs:
        version = item.version
        size = f"{version.rows:,} rows" if version.rows is not None else f"{version.files} files"
        lines.append(f"{item.role}: {version.ref} ({size}, digest {version.digest[:12]})")
        profile = data.profile(version)
        if profile is not None and item.role == "train":
            tables.append(
                CardTable(
                    ("column", "type", "nulls", "distinct"),
                    [
                        (
                            c.name,
                            c.logical_type,
                            f"{c.null_count / max(profile.rows, 1):.1%}",
                            "-" if c.distinct is None else f"{c.distinct:,}",
                        )
                        for c in profile.columns[:_PROFILE_COLUMNS]
                    ],
                )
            )
    return Section("Training data", lines, tables)


def _metrics(found: Lineage, result: EvaluationResult | None) -> Section:
    tables = []
    if found.run is not None and found.run.metrics:
        logged = [(k, _number(v)) for k, v in sorted(found.run.metrics.items())]
        tables.append(CardTable(("training run metric", "value"), logged))
    if result is not None:
        theirs = result.baseline.values if result.baseline else {}
        rows = [
            (k, _number(v), _number(theirs.get(k)) if result.baseline else "-")
            for k, v in result.candidate.values.items()
        ]
        tables.append(CardTable(("evaluation metric", "this version", "baseline"), rows))
    lines = [] if tables else [f"Metrics: {UNKNOWN} (no run metrics and no evaluation)."]
    return Section("Metrics", lines, tables)


def _evaluation(evaluation_id: int | None, result: EvaluationResult | None) -> list[Section]:
    if result is None or evaluation_id is None:
        return [Section("Evaluation", ["This version has not been evaluated with mloop.evaluate."])]
    gate = Section(
        "Gate decision",
        [f"Evaluation #{evaluation_id} on {result.rows:,} rows: {result.summary()}"],
        [
            CardTable(
                ("check", "passed", "reason"),
                [(c.name, "yes" if c.passed else "no", c.reason) for c in result.checks],
            )
        ]
        if result.checks
        else [],
    )
    slices = Section(
        "Slice metrics",
        [] if result.slices else ["No slices were evaluated."],
        [
            CardTable(
                ("column", "value", "rows", *result.candidate.values.keys()),
                [
                    (
                        s.column,
                        s.value,
                        f"{s.rows:,}",
                        *(_number(v) for v in s.candidate.values.values()),
                    )
                    for s in result.slices
                ],
            )
        ]
        if result.slices
        else [],
    )
    return [gate, slices, _fairness(result), _features(result)]


def _fairness(result: EvaluationResult) -> Section:
    if not result.fairness:
        return Section("Fairness", ["No sensitive column was declared in the evaluation."])
    lines, tables = [], []
    for item in result.fairness:
        ours = item.candidate
        lines.append(
            f"{item.column}: demographic parity difference "
            f"{_number(ours.demographic_parity_difference)}, equalized odds difference "
            f"{_number(ours.equalized_odds_difference)}"
        )
        tables.append(
            CardTable(
                (f"{item.column} group", "rows", "selection rate", "TPR", "FPR", "accuracy"),
                [
                    (
                        str(g.group),
                        f"{g.count:,}",
                        _number(g.selection_rate),
                        _number(g.tpr),
                        _number(g.fpr),
                        _number(g.accuracy),
                    )
                    for g in ours.groups
                ],
            )
        )
    return Section("Fairness", lines, tables)


def _features(result: EvaluationResult) -> Section:
    if result.importance is None:
        return Section("Top features", ["Feature importance was not computed."])
    imp = result.importance
    rows = [(f.feature, _number(f.mean), _number(f.std)) for f in imp.features[:_TOP_FEATURES]]
    return Section(
        "Top features",
        [
            f"Permutation importance: the drop in {imp.metric} when a feature is shuffled "
            f"({imp.n_repeats} repeats on {imp.rows:,} rows)."
        ],
        [CardTable(("feature", "importance", "std"), rows)],
    )


def _lineage(found: Lineage) -> Section:
    if found.run is None:
        return Section("Lineage", ["The version was registered without a run: lineage unknown."])
    run, code, env = found.run, found.code, found.environment
    rows = [
        ("Run", f"{run.id} ({run.name}) in {found.experiment}"),
        (
            "Code commit",
            code.get("commit", "not in a git repository")
            + (" with uncommitted changes" if code.get("dirty") == "true" else ""),
        ),
        ("Branch", code.get("branch") or UNKNOWN),
        ("Command", code.get("command") or UNKNOWN),
        ("Params", ", ".join(f"{k}={v}" for k, v in sorted(run.params.items())) or "none"),
        ("Python", env.get("python", UNKNOWN)),
        ("Platform", env.get("platform", UNKNOWN)),
    ]
    return Section("Lineage", tables=[CardTable(("field", "value"), rows)])


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
