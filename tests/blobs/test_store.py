"""BlobStore behaviour, run against a local folder and against S3."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mloop.blobs import Backend, BlobStore, Digest, hash_bytes, open_blobs
from mloop.blobs.ingest import LARGE
from mloop.errors import Conflict, IntegrityError, InvalidArgument, NotFound

from .conftest import StoreCase

MISSING = Digest("0" * 64)


def test_bytes_round_trip(store: BlobStore) -> None:
    digest = store.put_bytes(b"hello blobs")

    assert digest == hash_bytes(b"hello blobs")
    assert store.get_bytes(digest) == b"hello blobs"


def test_empty_blob_round_trip(store: BlobStore, tmp_path: Path) -> None:
    digest = store.put_bytes(b"")

    store.get_file(digest, tmp_path / "empty")

    assert store.get_bytes(digest) == b""
    assert (tmp_path / "empty").read_bytes() == b""


def test_file_round_trip_keeps_the_user_file_independent(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    content = bytes(range(256)) * 5000  # over the mmap threshold
    source.write_bytes(content)

    digest = store.put_file(source)
    source.write_bytes(b"edited afterwards")
    store.get_file(digest, tmp_path / "out" / "copy.bin")

    assert (tmp_path / "out" / "copy.bin").read_bytes() == content


def test_get_file_replaces_an_existing_file(store: BlobStore, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.write_bytes(b"old content that is longer than the new one")

    store.get_file(store.put_bytes(b"new"), dest)

    assert dest.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]  # no temporary file left


def test_same_content_is_stored_once(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"same")
    (tmp_path / "b").write_bytes(b"same")

    digests = {
        store.put_file(tmp_path / "a"),
        store.put_file(tmp_path / "b"),
        store.put_bytes(b"same"),
    }

    assert len(digests) == 1
    assert list(store.iter_digests()) == [digests.pop()]


class CountingBackend:
    """Wraps a backend and counts the objects written through it."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_file(self, key: str, src: Path) -> None:
        self.writes.append(key)
        self.inner.put_file(key, src)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.writes.append(key)
        self.inner.put_bytes(key, data)


def test_stored_content_is_not_uploaded_again(store: BlobStore, tmp_path: Path) -> None:
    counting = CountingBackend(store.backend)
    store = BlobStore(counting)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a").write_bytes(b"a" * 2_000_000)
    (tmp_path / "folder" / "b").write_bytes(b"a" * 2_000_000)
    (tmp_path / "folder" / "c").write_bytes(b"c")

    store.put_file(tmp_path / "folder" / "a")
    assert len(counting.writes) == 1
    tree = store.put_tree(tmp_path / "folder")  # uploads c and the manifest only
    assert len(counting.writes) == 3
    store.put_tree(tmp_path / "folder")
    store.put_bytes(b"c")
    store.put_file(tmp_path / "folder" / "b")

    assert len(counting.writes) == 3
    assert set(counting.writes) == {
        hash_bytes(b"a" * 2_000_000).hex,
        hash_bytes(b"c").hex,
        tree.hex,
    }


class RewritingBackend(CountingBackend):
    """A backend during whose copy of a large file someone else appends to the file.

    (Small files are written from the bytes that were hashed, so only a copied
    large file can change under the store.)
    """

    def put_file(self, key: str, src: Path) -> None:
        with src.open("ab") as out:
            out.write(b" and more")
        super().put_file(key, src)


def test_a_file_changed_while_stored_is_not_stored(store: BlobStore, tmp_path: Path) -> None:
    store = BlobStore(RewritingBackend(store.backend))
    (tmp_path / "log.txt").write_bytes(b"first line" * (LARGE // 10 + 1))

    with pytest.raises(Conflict, match=r"log\.txt changed while it was being stored"):
        store.put_file(tmp_path / "log.txt")

    assert list(store.iter_digests()) == []


def test_exists_takes_many_digests(store: BlobStore) -> None:
    stored = [store.put_bytes(bytes([i]) * 10) for i in range(8)]

    assert store.exists([*stored, MISSING]) == set(stored)
    assert store.exists([]) == set()


def test_exists_with_many_digests_in_one_shard(store: BlobStore) -> None:
    # Remote backends list a shard folder instead of probing each key when
    # several wanted keys share it: find contents whose digests share a shard.
    by_shard: dict[str, list[bytes]] = {}
    counter = 0
    while not any(len(contents) == 4 for contents in by_shard.values()):
        counter += 1
        content = str(counter).encode()
        by_shard.setdefault(hash_bytes(content).hex[:2], []).append(content)
    shard, contents = next(item for item in by_shard.items() if len(item[1]) == 4)
    stored = [store.put_bytes(content) for content in contents[:3]]
    absent = [hash_bytes(contents[3]), Digest(shard + "0" * 62), Digest(shard + "f" * 62)]

    assert store.exists([*stored, *absent]) == set(stored)


def test_iter_objects_lists_sizes(store: BlobStore) -> None:
    small, large = store.put_bytes(b"x"), store.put_bytes(b"y" * 3000)

    listed = {info.digest: info.size for info in store.iter_objects()}

    assert listed == {small: 1, large: 3000}


def test_delete_removes_only_the_named_blobs(store: BlobStore) -> None:
    keep, drop = store.put_bytes(b"keep"), store.put_bytes(b"drop")

    store.delete([drop, MISSING])

    assert set(store.iter_digests()) == {keep}
    with pytest.raises(NotFound):
        store.get_bytes(drop)


def test_missing_blob_is_not_found_naming_the_digest(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=MISSING.hex):
        store.get_bytes(MISSING)
    with pytest.raises(NotFound, match=MISSING.hex):
        store.get_file(MISSING, tmp_path / "dest")
    assert list(tmp_path.iterdir()) == []


def test_corrupted_object_is_refused_by_get_bytes(case: StoreCase) -> None:
    digest = case.store.put_bytes(b"the original bytes")
    case.overwrite_object(digest.hex, b"the altered bytes!")

    with pytest.raises(IntegrityError, match=rf"{digest.hex}.*corrupted"):
        case.store.get_bytes(digest)


def test_corrupted_object_never_reaches_dest(case: StoreCase, tmp_path: Path) -> None:
    digest = case.store.put_bytes(b"the original bytes" * 100_000)  # hashed on all cores
    case.overwrite_object(digest.hex, b"the altered bytes!" * 100_000)
    fresh, existing = tmp_path / "fresh", tmp_path / "existing"
    existing.write_bytes(b"user data")

    with pytest.raises(IntegrityError, match=rf"{digest.hex}.*corrupted"):
        case.store.get_file(digest, fresh)
    if case.kind == "s3":
        with pytest.raises(IntegrityError, match=rf"{digest.hex}.*corrupted"):
            case.store.get_file(digest, existing)
    else:  # moved aside at the first read: gone from the store, and said so
        with pytest.raises(NotFound, match="found corrupted and moved to"):
            case.store.get_file(digest, existing)

    assert not fresh.exists()
    assert existing.read_bytes() == b"user data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_storing_the_original_again_repairs_a_corrupted_local_blob(tmp_path: Path) -> None:
    store = open_blobs(tmp_path / "blobs")
    digest = store.put_bytes(b"original")
    path = store.local_path(digest)
    assert path is not None
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=r"moved to .*quarantine.*store the original content"):
        store.get_bytes(digest)
    assert store.put_bytes(b"original") == digest
    assert store.get_bytes(digest) == b"original"
    assert list(store.iter_digests()) == [digest]


def test_partial_writes_are_not_objects(case: StoreCase) -> None:
    digest = case.store.put_bytes(b"complete")
    case.write_raw(f"{digest.hex[:2]}/.tmp-0123abcd", b"half writ")
    case.write_raw("notashard/" + "a" * 62, b"foreign")

    assert list(case.store.iter_digests()) == [digest]


def test_concurrent_writers_of_one_blob_are_harmless(store: BlobStore) -> None:
    data = b"written by many" * 1000
    errors: list[BaseException] = []

    def write() -> None:
        try:
            store.put_bytes(data)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert list(store.iter_digests()) == [hash_bytes(data)]
    assert store.get_bytes(hash_bytes(data)) == data


def test_put_file_of_a_missing_file_is_not_found(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no-such-file"):
        store.put_file(tmp_path / "no-such-file")


def test_get_file_into_a_folder_is_refused(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="folder"):
        store.get_file(store.put_bytes(b"x"), tmp_path)


def test_local_path_points_at_the_object_only_for_local_stores(case: StoreCase) -> None:
    digest = case.store.put_bytes(b"on disk")

    path = case.store.local_path(digest)

    if case.kind == "local":
        assert path is not None and path.read_bytes() == b"on disk"
        assert path.parent.name == digest.hex[:2] and path.name == digest.hex[2:]
        with pytest.raises(NotFound):
            case.store.local_path(MISSING)
    else:
        assert path is None


def test_local_objects_are_read_only(tmp_path: Path) -> None:
    from mloop.blobs import open_blobs

    store = open_blobs(tmp_path / "blobs")
    path = store.local_path(store.put_bytes(b"immutable"))

    assert path is not None
    assert path.stat().st_mode & 0o222 == 0
