"""Fixtures for the blob store suite: one store per backend.

Tests get a ``store`` that is either a local folder or a fresh prefix in the
bucket of the real S3 server (``s3_server``, from ``tests/s3server.py``), so
every behavioural test runs against both backends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mloop.blobs import BlobStore, open_blobs
from s3server import S3Server


@dataclass(frozen=True)
class StoreCase:
    """A blob store under test, and raw access to the objects behind its back."""

    kind: str
    store: BlobStore
    write_raw: Callable[[str, bytes], None]
    """Write bytes at a path relative to the store root (e.g. ``ab/cdef...``), unchecked."""
    raw_exists: Callable[[str], bool]
    """Whether a path relative to the store root exists."""

    def overwrite_object(self, hex_digest: str, data: bytes) -> None:
        """Replace a stored object's bytes, as disk rot or a stray writer would."""
        self.write_raw(f"{hex_digest[:2]}/{hex_digest[2:]}", data)


def _local_case(root: Path) -> StoreCase:
    def write_raw(relative: str, data: bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.chmod(0o644)  # objects are stored read-only
        path.write_bytes(data)

    return StoreCase(
        "local", open_blobs(root), write_raw, lambda relative: (root / relative).exists()
    )


def _s3_case(server: S3Server) -> StoreCase:
    import s3fs

    prefix = f"{server.bucket}/{uuid.uuid4().hex}"  # one fresh prefix per test
    raw = s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True)

    def write_raw(relative: str, data: bytes) -> None:
        raw.pipe_file(f"{prefix}/{relative}", data)

    def raw_exists(relative: str) -> bool:
        return bool(raw.exists(f"{prefix}/{relative}"))

    store = open_blobs(f"s3://{prefix}", server.storage_options)
    return StoreCase("s3", store, write_raw, raw_exists)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> StoreCase:
    """The same tests on a local folder and on S3 (``tmp_path`` stays the test's own)."""
    if request.param == "local":
        return _local_case(tmp_path_factory.mktemp("blobs"))
    return _s3_case(request.getfixturevalue("s3_server"))


@pytest.fixture
def store(case: StoreCase) -> BlobStore:
    return case.store
