"""How ``mloop models`` prints models, versions, alias history and lineage."""

from __future__ import annotations

import json

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from mloop.cli import render
from mloop.cli.state import State
from mloop.errors import InvalidArgument
from mloop.models.refs import parse_model_ref
from mloop.registry.lineage import Lineage
from mloop.registry.times import to_ms
from mloop.store import AliasEvent, ModelVersion, RegisteredModel


def models_table(models: list[RegisteredModel]) -> Table:
    table = Table("name", "latest", "aliases", "created", "description", box=None)
    table.columns[0].style = "bold"
    for model in models:
        table.add_row(
            escape(model.name),
            "-" if model.latest is None else str(model.latest),
            _aliases(model.aliases),
            render.when(model.created_at, short=True),
            escape(_first_line(model.description)),
        )
    return table


def versions_table(versions: list[ModelVersion], *, with_model: bool = False) -> Table:
    headers = ("version", "aliases", "flavor", "status", "run", "registered", "by")
    table = Table(*(("model", *headers) if with_model else headers), box=None)
    table.columns[0].style = "bold"
    for version in versions:
        table.add_row(
            *((escape(version.model),) if with_model else ()),
            str(version.version),
            " ".join(f"@{a}" for a in version.aliases) or "-",
            version.flavor,
            version.status.value.lower(),
            (version.run_id or "-")[:8],
            render.when(version.created_at, short=True),
            escape(version.user),
        )
    return table


def show(st: State, ref: str, *, as_json: bool) -> None:
    registry = st.registry()
    parsed = parse_model_ref(ref)
    if "/" not in ref.removeprefix("models:/") and "@" not in ref:
        model, versions = registry.model(parsed.name), registry.versions(parsed.name)
        if as_json:
            render.print_json(st.console, {"model": model, "versions": versions})
            return
        st.console.print(f"[bold]{escape(model.name)}[/bold]  {_aliases(model.aliases)}")
        if model.description:
            st.console.print(escape(model.description))
        if model.tags:
            st.console.print("tags: " + escape(_pairs(model.tags)))
        st.console.print(versions_table(versions) if versions else "No versions yet.")
        return
    version = registry.version(parsed)
    if as_json:
        render.print_json(st.console, _version_json(version))
        return
    _print_version(st, version)


def _print_version(st: State, version: ModelVersion) -> None:
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("version", version.uri),
        ("aliases", " ".join(f"@{a}" for a in version.aliases) or "-"),
        ("flavor", version.flavor),
        ("status", version.status.value.lower()),
        ("package", version.package),
        ("run", version.run_id or "- (registered without a run)"),
        ("source", version.source or "-"),
        ("registered", f"{render.when(version.created_at)} by {version.user}"),
        ("description", version.description or "-"),
        ("tags", _pairs(version.tags) or "-"),
    ]
    for label, value in rows:
        table.add_row(label, escape(value))
    st.console.print(table)
    if version.signature:
        st.console.print(_signature_table(json.loads(version.signature)))


def _signature_table(signature: dict[str, object]) -> Table:
    table = Table("input", "type", title="signature", title_justify="left", box=None)
    inputs = signature.get("inputs")
    for column in inputs if isinstance(inputs, list) else []:
        if isinstance(column, dict):
            table.add_row(escape(str(column.get("name"))), escape(str(column.get("type"))))
    return table


def _version_json(version: ModelVersion) -> dict[str, object]:
    data = render.as_plain(version)
    assert isinstance(data, dict)
    data["uri"] = version.uri
    data["signature"] = None if version.signature is None else json.loads(version.signature)
    return data


def print_event(st: State, event: AliasEvent) -> None:
    model = escape(event.model)
    if event.version is None:
        st.console.print(f"Removed @{event.alias} from {model} (it was version {event.previous}).")
        return
    before = "" if event.previous is None else f" (was {event.previous})"
    st.console.print(
        f"{model}@{event.alias} → version [bold]{event.version}[/bold]{before}: {event.action}"
    )


def update(st: State, ref: str, description: str | None, tags: dict[str, str]) -> None:
    if description is None and not tags:
        raise InvalidArgument("nothing to update: give --description and/or --tag KEY=VALUE")
    registry = st.registry()
    if "/" in ref.removeprefix("models:/") or "@" in ref:
        version = registry.update_version(ref, description=description, tags=tags)
        st.console.print(f"Updated {escape(version.uri)}.")
    else:
        model = registry.update_model(ref, description=description, tags=tags)
        st.console.print(f"Updated {escape(model.name)}.")


def history(st: State, model: str, alias: str | None, at: str | None, *, as_json: bool) -> None:
    registry = st.registry()
    events = registry.history(model, alias)
    if at is not None:
        _history_at(st, model, alias, events, at, as_json=as_json)
        return
    if as_json:
        render.print_json(st.console, events)
        return
    if not events:
        st.console.print(f"No alias of {escape(model)} has moved yet.")
        return
    table = Table("when", "alias", "version", "was", "action", "by", "reason", box=None)
    for event in events:
        table.add_row(
            render.when(event.created_at),
            f"@{escape(event.alias)}",
            "-" if event.version is None else str(event.version),
            "-" if event.previous is None else str(event.previous),
            event.action.value,
            escape(event.user),
            escape(event.reason),
        )
    st.console.print(table)


def _history_at(
    st: State, model: str, alias: str | None, events: list[AliasEvent], at: str, *, as_json: bool
) -> None:
    moment = to_ms(at)
    names = [alias] if alias else sorted({e.alias for e in events})
    registry = st.registry()
    found = {name: registry.version_at(model, name, moment) for name in names}
    if as_json:
        render.print_json(
            st.console,
            {
                "at": moment,
                "aliases": {k: None if v is None else v.version for k, v in found.items()},
            },
        )
        return
    st.console.print(f"At {render.when(moment)}:")
    for name, version in found.items():
        where = "pointed at no version" if version is None else f"→ version {version.version}"
        st.console.print(f"  {escape(model)}@{escape(name)} {where}")
    if not found:
        st.console.print("  no alias had ever been set")


def search(
    st: State,
    name: str | None,
    tags: dict[str, str],
    alias: str | None,
    metric: str | None,
    *,
    as_json: bool,
) -> None:
    key, at_least = _metric_filter(metric)
    found = st.registry().search(name, tags=tags, alias=alias, metric=key, at_least=at_least)
    if as_json:
        render.print_json(st.console, [_version_json(v) for v in found])
        return
    if not found:
        st.console.print("No model version matches.")
        return
    st.console.print(versions_table(found, with_model=True))


def _metric_filter(text: str | None) -> tuple[str | None, float | None]:
    if text is None:
        return None, None
    key, sep, value = text.partition(">=")
    if not sep:
        return text.strip(), None
    try:
        return key.strip(), float(value)
    except ValueError:
        raise InvalidArgument(f"--metric takes KEY or KEY>=NUMBER, got {text!r}") from None


def lineage(st: State, ref: str, *, as_json: bool) -> None:
    found = st.registry().lineage(ref)
    if as_json:
        render.print_json(st.console, found)
        return
    _print_lineage(st, found)


def _print_lineage(st: State, found: Lineage) -> None:
    version = found.version
    tree = Tree(f"[bold]{escape(version.uri)}[/bold]  {' '.join('@' + a for a in version.aliases)}")
    tree.add(f"package {version.package[:12]} ({version.flavor})")
    run = found.run
    if run is None:
        tree.add("run: unknown (registered without a run)")
    else:
        branch = tree.add(
            f"run {run.id[:8]} {escape(run.name)} in {escape(found.experiment or '-')}"
        )
        code = found.code
        commit = code.get("commit")
        dirty = " (uncommitted changes)" if code.get("dirty") == "true" else ""
        branch.add(
            f"code: {commit[:12] if commit else 'unknown (not in a git repository)'}"
            f"{' on ' + escape(code['branch']) if code.get('branch') else ''}{dirty}"
        )
        for item in found.inputs:
            branch.add(f"data ({escape(item.role)}): {escape(item.version.ref)}")
        if not found.inputs:
            branch.add("data: none logged")
        branch.add(f"params: {escape(_pairs(run.params)) or 'none'}")
        env = found.environment
        branch.add(f"environment: Python {env.get('python', 'unknown')} on {env.get('host', '?')}")
    for evaluation in found.evaluations:
        verdict = "passed" if evaluation.passed else "failed"
        tree.add(f"evaluation #{evaluation.id} ({evaluation.task}): {verdict}")
    st.console.print(tree)


def _aliases(aliases: dict[str, int]) -> str:
    return " ".join(f"@{a}={v}" for a, v in aliases.items()) or "-"


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""
