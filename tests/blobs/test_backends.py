"""Choosing a backend from the root, and what users see when one cannot be used."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

import mloop.blobs
from mloop.blobs import LocalBackend, hash_bytes, open_blobs
from mloop.blobs.backends.remote import FsspecBackend
from mloop.errors import BackendUnavailable, InvalidArgument, NotFound, PermissionDenied
from s3server import S3Server


@pytest.mark.parametrize("form", ["path", "str", "file-url", "odd-name"])
def test_local_roots_open_a_local_folder(tmp_path: Path, form: str) -> None:
    root: str | Path = {
        "path": tmp_path,
        "str": str(tmp_path),
        "file-url": f"file://{tmp_path}",
        "odd-name": f"{tmp_path}/x://y",  # not a URL: "/tmp/.../x" is no scheme
    }[form]
    folder = tmp_path / "x:" / "y" if form == "odd-name" else tmp_path

    store = open_blobs(root)

    assert isinstance(store.backend, LocalBackend)
    digest = store.put_bytes(b"here")
    assert (folder / digest.hex[:2] / digest.hex[2:]).read_bytes() == b"here"


def test_nothing_is_created_until_something_is_stored(tmp_path: Path) -> None:
    store = open_blobs(tmp_path / "not-yet")

    assert list(store.iter_digests()) == []
    assert store.exists([hash_bytes(b"")]) == set()
    assert not (tmp_path / "not-yet").exists()


@pytest.mark.parametrize("scheme", ["memory", "local"])
def test_any_fsspec_filesystem_works(tmp_path: Path, scheme: str) -> None:
    # memory:// is an object store (direct writes); local:// is a plain
    # filesystem reached through fsspec (temporary name, then a move).
    root = f"memory://{tmp_path.name}" if scheme == "memory" else f"local://{tmp_path}"
    store = open_blobs(root)
    digest = store.put_bytes(b"through fsspec")

    assert isinstance(store.backend, FsspecBackend)
    assert store.get_bytes(digest) == b"through fsspec"
    assert list(store.iter_digests()) == [digest]
    store.delete([digest])
    assert list(store.iter_digests()) == []


def test_unknown_scheme_says_what_is_supported() -> None:
    with pytest.raises(InvalidArgument, match=r"'nosuch://'.*local path.*file://.*s3://"):
        open_blobs("nosuch://bucket/prefix")


def test_s3_without_s3fs_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` fail

    with pytest.raises(BackendUnavailable, match=r"pip install 'mloop\[s3\]'"):
        open_blobs("s3://bucket/prefix")


def test_a_scheme_whose_package_is_missing_names_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)

    with pytest.raises(BackendUnavailable, match=r"gs://.*needs the gcsfs package"):
        open_blobs("gs://bucket/prefix")


def test_storage_options_for_a_local_path_are_refused() -> None:
    # "s3:/bucket" (one slash) is a local path: the options show the intent.
    with pytest.raises(InvalidArgument, match=r"storage_options.*local path"):
        open_blobs("s3:/bucket/prefix", {"key": "k", "secret": "s"})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_s3_is_backend_unavailable_naming_the_url() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    store = open_blobs(
        "s3://bucket/blobs",
        {
            "key": "k",
            "secret": "s",
            "client_kwargs": {"endpoint_url": endpoint},
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2},
        },
    )

    with pytest.raises(BackendUnavailable, match=r"s3://bucket/blobs.*connect") as info:
        store.put_bytes(b"x")
    assert endpoint in str(info.value)
    with pytest.raises(BackendUnavailable, match="s3://bucket/blobs"):
        store.get_bytes(hash_bytes(b"x"))


@pytest.mark.s3
def test_wrong_s3_credentials_are_permission_denied(s3_server: S3Server) -> None:
    options = {**s3_server.storage_options, "secret": "not-the-secret"}
    store = open_blobs(f"s3://{s3_server.bucket}/creds", options)

    with pytest.raises(PermissionDenied, match=rf"s3://{s3_server.bucket}/creds.*credentials"):
        store.put_bytes(b"x")


@pytest.mark.s3
def test_reading_from_a_missing_bucket_is_not_found(s3_server: S3Server) -> None:
    store = open_blobs("s3://no-such-bucket/blobs", s3_server.storage_options)
    digest = hash_bytes(b"x")

    with pytest.raises(NotFound, match=digest.hex):
        store.get_bytes(digest)
    assert store.exists([digest]) == set()
    assert list(store.iter_digests()) == []


def test_public_face() -> None:
    assert sorted(mloop.blobs.__all__) == [
        "Backend",
        "BlobInfo",
        "BlobStore",
        "Digest",
        "GcReport",
        "LocalBackend",
        "Manifest",
        "ManifestEntry",
        "ObjectInfo",
        "collect_garbage",
        "hash_bytes",
        "hash_file",
        "open_blobs",
    ]
    for name in mloop.blobs.__all__:
        assert getattr(mloop.blobs, name).__module__.startswith("mloop.blobs")
