"""Fixtures for the data suite: a data client per metadata backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mloop.blobs.hashcache import HashCache
from mloop.data import DataClient
from mloop.tracking.client import Client


@pytest.fixture
def data(client: Client, tmp_path: Path) -> Iterator[DataClient]:
    cache = HashCache(tmp_path / "cache" / "hashes.db")
    yield DataClient(client, hash_cache=cache)
    cache.close()
