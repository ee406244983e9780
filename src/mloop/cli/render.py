"""Formatting shared by the commands: the console, times, durations, values, JSON."""

from __future__ import annotations

import json
import math
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mloop.blobs import Digest
from mloop.errors import InvalidArgument
from mloop.store.entities import ArtifactEntry, Run

# Control characters as the symbols of Unicode's Control Pictures block (ESC shows as ␛);
# newline and tab are kept. C1 controls (U+0080-U+009F; some terminals take U+009B as
# ESC [) have no symbol: they show as U+FFFD.
_SHOWN = {
    **{code: 0x2400 + code for code in range(0x20) if chr(code) not in "\n\t"},
    0x7F: 0x2421,
    **{code: 0xFFFD for code in range(0x80, 0xA0)},
}


class SafeConsole(Console):
    """The console of every command: it shows the control characters of the text it
    prints (tag and param values, notes, descriptions: anything a user stored) as
    visible symbols instead of handing them to the terminal, where an escape sequence
    could clear the screen, fake colours or rewrite the line. Every string printed,
    table cells included, goes through :meth:`render_str`; the console's own colours
    are added after it."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(text.translate(_SHOWN), **options)


def when(ms: int | None, *, short: bool = False) -> str:
    """Local time; ``short`` drops the year (for tables)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M")


def duration(run: Run) -> str:
    if run.end_time is None:
        return "-"
    seconds = max(0, run.end_time - run.start_time) / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.6g}"


def size(n: int) -> str:
    """Bytes for people: ``512 B``, ``9.8 KB``, ``1.2 GB`` (powers of 1000)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{n:,} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n:,} B"


def status_style(status: str) -> str:
    return {"FINISHED": "green", "FAILED": "red", "KILLED": "yellow", "RUNNING": "cyan"}.get(
        status, ""
    )


def artifact_table(entries: list[ArtifactEntry], title: str | None = None) -> Table:
    """Path (folders end with /), size and short digest of each artifact."""
    table = Table(
        "path",
        "size",
        "digest",
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        header_style="bold",
    )
    for entry in entries:
        shown = escape(entry.path) + ("/" if entry.is_dir else "")
        table.add_row(shown, f"{entry.size:,}", entry.digest[:12])
    return table


def parse_tags(values: list[str] | None) -> dict[str, str]:
    """``--tag KEY=VALUE`` options as a dict."""
    return parse_pairs(values, "--tag", "KEY=VALUE")


def parse_pairs(values: list[str] | None, option: str, form: str) -> dict[str, str]:
    """Repeated ``NAME=VALUE`` options as a dict (the value as written)."""
    pairs = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidArgument(f"{option} takes {form}, got {item!r}")
        pairs[key.strip()] = value
    return pairs


def print_json(console: Console, data: Any) -> None:
    """Machine-readable output: plain JSON on stdout (NaN and ±inf as strings)."""
    console.out(json.dumps(as_plain(data), indent=2, sort_keys=False), highlight=False)


def as_plain(value: Any) -> Any:
    if isinstance(value, Digest):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [as_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return value
