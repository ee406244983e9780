"""The user documentation keeps up with the code: every command, export and attribute is in it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

import mloop
from mloop.cli import app
from mloop.store.query import ATTRIBUTES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(command: object, words: tuple[str, ...]) -> Iterator[str]:
    """``mloop runs list``, ... for every leaf command under ``command`` (a group or not)."""
    children: dict[str, object] | None = getattr(command, "commands", None)
    if children is None:
        yield " ".join(words)
        return
    for name, child in sorted(children.items()):
        if not getattr(child, "hidden", False):
            yield from _commands(child, (*words, name))


CLI_COMMANDS = sorted(_commands(typer.main.get_command(app), ("mloop",)))


def _options(command: object, words: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(command, --long-option) for every visible option; the root's are the global ones."""
    for param in getattr(command, "params", []):
        if not getattr(param, "hidden", False):
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    yield " ".join(words), opt
    for name, child in sorted((getattr(command, "commands", None) or {}).items()):
        if not getattr(child, "hidden", False):
            yield from _options(child, (*words, name))


CLI_OPTIONS = sorted(_options(typer.main.get_command(app), ("mloop",)))


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under the level-2 heading ``heading`` (backticks ignored), up to the next one."""
    found, fenced, lines = False, False, []
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            if found:
                break
            found = line[3:].strip().strip("`").strip() == heading
            continue
        if found:
            lines.append(line)
    return "\n".join(lines)


def _headings(text: str) -> set[str]:
    """The level-2 headings of a markdown file, outside fenced code blocks."""
    found, fenced = set(), False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            found.add(line[3:].strip().strip("`").strip())
    return found


def test_the_cli_walk_finds_the_commands() -> None:
    assert {"mloop init", "mloop runs list", "mloop db upgrade"} <= set(CLI_COMMANDS)


def test_the_option_walk_finds_the_options() -> None:
    assert {("mloop", "--uri"), ("mloop runs list", "--page-token")} <= set(CLI_OPTIONS)


@pytest.mark.parametrize("command", CLI_COMMANDS)
def test_every_command_has_a_heading_in_cli_md(command: str) -> None:
    assert command in _headings(_read("cli.md")), f"docs/cli.md needs a '## {command}' heading"


@pytest.mark.parametrize(("command", "option"), CLI_OPTIONS)
def test_every_option_is_in_its_section_of_cli_md(command: str, option: str) -> None:
    heading = "Global options" if command == "mloop" else command
    assert option in _section(_read("cli.md"), heading), (
        f"docs/cli.md does not document {option} under '## {heading}'"
    )


@pytest.mark.parametrize("name", sorted(set(mloop.__all__) - {"__version__"}))
def test_every_export_is_in_tracking_md(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", _read("tracking.md")), (
        f"docs/tracking.md does not mention mloop.{name}"
    )


@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_every_filter_attribute_is_in_search_md(attribute: str) -> None:
    assert f"attributes.{attribute}" in _read("search.md"), (
        f"docs/search.md does not document attributes.{attribute}"
    )


def test_the_docs_index_links_every_page() -> None:
    index = _read("README.md")
    for page in sorted(DOCS.glob("*.md")):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"docs/README.md does not link {page.name}"
