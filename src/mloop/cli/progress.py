"""A Rich progress bar of bytes and files, for long data commands (on stderr)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mloop.cli.render import SafeConsole


class FileProgress:
    """Shows bytes, files and speed; implements ``mloop.blobs.ingest.Progress``."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar = bar
        self._task = task
        self._files = 0
        self._total_files = 0
        self._lock = threading.Lock()

    def start(self, total_bytes: int, total_files: int) -> None:
        with self._lock:
            self._files, self._total_files = 0, total_files
            self._bar.reset(self._task, total=total_bytes, files=self._label())

    def advance(self, done_bytes: int, done_files: int) -> None:
        with self._lock:
            self._files += done_files
            self._bar.update(self._task, advance=done_bytes, files=self._label())

    def _label(self) -> str:
        return f"{self._files:,}/{self._total_files:,} files"


@contextmanager
def file_progress(description: str, *, console: Console | None = None) -> Iterator[FileProgress]:
    """A progress bar for the duration of the block; gone from the terminal afterwards."""
    console = console or SafeConsole(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[files]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no stray lines in CI logs
    )
    with bar:
        yield FileProgress(bar, bar.add_task(description, total=None, files=""))
