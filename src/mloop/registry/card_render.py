"""A model card as Markdown, or as one self-contained HTML page (no network needed)."""

from __future__ import annotations

from collections.abc import Sequence

import jinja2

from mloop.registry.card import CardTable, ModelCard

_HTML = jinja2.Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ card.title }}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{padding:.25rem .75rem;text-align:left;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f6f6f6}
</style></head><body>
<h1>{{ card.title }}</h1>
{% for section in card.sections %}<section><h2>{{ section.title }}</h2>
{% for line in section.lines %}<p>{{ line }}</p>
{% endfor %}{% for table in section.tables %}<table><thead><tr>
{% for h in table.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in table.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% endfor %}</section>
{% endfor %}</body></html>
""",
    autoescape=True,
)


def to_markdown(card: ModelCard) -> str:
    parts = [f"# {_md(card.title)}", ""]
    for section in card.sections:
        parts += [f"## {_md(section.title)}", ""]
        for line in section.lines:
            parts += [_md(line), ""]
        for table in section.tables:
            parts += [*_md_table(table), ""]
    return "\n".join(parts)


def to_html(card: ModelCard) -> str:
    return str(_HTML.render(card=card))


def _md_table(table: CardTable) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_md(c).replace("|", "\\|") for c in cells) + " |"

    return [row(table.headers), "|" + "---|" * len(table.headers), *(row(r) for r in table.rows)]


def _md(text: str) -> str:
    """One line of Markdown: newlines folded, HTML tags neutralised."""
    return " ".join(str(text).split()).replace("<", "&lt;")
