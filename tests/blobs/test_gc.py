"""Garbage collection of unreferenced blobs."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mloop.blobs import BlobStore, Digest, collect_garbage, hash_bytes, open_blobs
from mloop.errors import IntegrityError, NotFound

from .conftest import StoreCase

NOW = timedelta(0)  # no grace period: everything unreferenced is garbage


def stored(store: BlobStore) -> set[Digest]:
    return set(store.iter_digests())


@pytest.fixture
def populated(store: BlobStore, tmp_path: Path) -> dict[str, Digest]:
    """A root blob, a tree with two files (one shared with the root), and garbage."""
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"in the tree")
    (folder / "sub" / "b.txt").write_bytes(b"root and tree")
    return {
        "root": store.put_bytes(b"root and tree"),
        "tree": store.put_tree(folder),
        "garbage1": store.put_bytes(b"garbage"),
        "garbage2": store.put_bytes(b"more garbage!"),
    }


def test_dry_run_reports_garbage_and_deletes_nothing(
    store: BlobStore, populated: dict[str, Digest]
) -> None:
    before = stored(store)

    report = collect_garbage(store, [populated["root"]], [populated["tree"]], min_age=NOW)

    assert set(report.unreferenced) == {populated["garbage1"], populated["garbage2"]}
    assert report.unreferenced_bytes == len(b"garbage") + len(b"more garbage!")
    assert report.referenced == 3  # root (= sub/b.txt), a.txt, the manifest
    assert report.deleted is False
    assert stored(store) == before


def test_delete_keeps_everything_referenced(
    store: BlobStore, populated: dict[str, Digest], tmp_path: Path
) -> None:
    report = collect_garbage(
        store, [populated["root"]], [populated["tree"]], delete=True, min_age=NOW
    )

    assert report.deleted is True
    assert stored(store) == {populated["root"], populated["tree"], hash_bytes(b"in the tree")}
    store.checkout_tree(populated["tree"], tmp_path / "out")  # still complete
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"in the tree"


def test_a_tree_keeps_its_files_without_any_root(
    store: BlobStore, populated: dict[str, Digest]
) -> None:
    collect_garbage(store, [], [populated["tree"]], delete=True, min_age=NOW)

    assert stored(store) == {
        populated["tree"],
        hash_bytes(b"in the tree"),
        hash_bytes(b"root and tree"),
    }


def test_nothing_referenced_means_everything_goes(
    store: BlobStore, populated: dict[str, Digest]
) -> None:
    report = collect_garbage(store, [], [], delete=True, min_age=NOW)

    assert len(report.unreferenced) == 5
    assert stored(store) == set()


def test_fresh_blobs_are_kept_by_default(store: BlobStore, populated: dict[str, Digest]) -> None:
    report = collect_garbage(store, [populated["root"]], [populated["tree"]], delete=True)

    assert report.unreferenced == ()
    assert set(report.too_recent) == {populated["garbage1"], populated["garbage2"]}
    assert populated["garbage1"] in stored(store)


def test_writes_in_progress_are_not_touched(case: StoreCase) -> None:
    digest = case.store.put_bytes(b"complete")
    in_progress = hash_bytes(b"being written")
    case.write_raw(f"{in_progress.hex[:2]}/.tmp-5f3c", b"being wri")

    report = collect_garbage(case.store, [digest], [], delete=True, min_age=timedelta(hours=1))

    assert report.unreferenced == () and report.too_recent == () and report.abandoned == ()
    assert case.raw_exists(f"{in_progress.hex[:2]}/.tmp-5f3c")


def test_writes_abandoned_before_min_age_are_removed(tmp_path: Path) -> None:
    """A killed writer leaves its temporary file behind; nothing else ever removes it."""
    root = tmp_path / "blobs"
    store = open_blobs(root)
    digest = store.put_bytes(b"complete")
    left = root / digest.hex[:2] / ".tmp-killed"
    left.write_bytes(b"x" * 1000)
    fresh = root / digest.hex[:2] / ".tmp-writing"
    fresh.write_bytes(b"y" * 10)
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    staging = tmp_path / "cache" / "checkouts"
    (staging / ".mloop-checkout-killed").mkdir(parents=True)
    (staging / ".mloop-checkout-killed" / "part.csv").write_bytes(b"z" * 500)
    (staging / "kept-version").mkdir()
    os.utime(staging / ".mloop-checkout-killed", (time.time() - 7200, time.time() - 7200))

    found = collect_garbage(store, [digest], [], staging=[staging])
    assert set(found.abandoned) == {
        f"{digest.hex[:2]}/.tmp-killed",
        str(staging / ".mloop-checkout-killed"),
    }
    assert found.abandoned_bytes == 1500 and left.exists()

    done = collect_garbage(store, [digest], [], delete=True, staging=[staging])
    assert done.abandoned == found.abandoned
    assert not left.exists() and not (staging / ".mloop-checkout-killed").exists()
    assert fresh.exists() and (staging / "kept-version").exists()
    assert store.get_bytes(digest) == b"complete"


def test_a_missing_tree_stops_gc_before_deleting(
    store: BlobStore, populated: dict[str, Digest]
) -> None:
    before = stored(store)
    gone = hash_bytes(b"a manifest that was never stored")

    with pytest.raises(NotFound, match=gone.hex):
        collect_garbage(store, [], [populated["tree"], gone], delete=True, min_age=NOW)

    assert stored(store) == before


def test_a_corrupted_tree_stops_gc_before_deleting(
    case: StoreCase, populated: dict[str, Digest]
) -> None:
    before = stored(case.store)
    case.overwrite_object(populated["tree"].hex, b'{"format":"mloop.manifest/1","entries":[]}')

    with pytest.raises(IntegrityError, match=populated["tree"].hex):
        collect_garbage(case.store, [], [populated["tree"]], delete=True, min_age=NOW)

    # Nothing deleted; a local store moves the corrupted manifest aside for repair.
    kept = before - {populated["tree"]} if case.kind == "local" else before
    assert stored(case.store) == kept


def test_storing_old_bytes_again_restarts_their_grace_period(tmp_path: Path) -> None:
    """A write that finds its blob already stored must protect it like a new one."""
    import os
    import time

    from mloop.blobs import open_blobs

    store = open_blobs(tmp_path / "blobs")
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.bin").write_bytes(b"old bytes, about to be used again")
    digests = [store.put_bytes(b"old bytes, about to be used again"), store.put_tree(data)]
    two_hours_ago = time.time() - 7200
    for info in list(store.iter_objects()):
        path = store.local_path(info.digest)
        assert path is not None
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert set(collect_garbage(store, [], []).unreferenced) == set(store.iter_digests())
    store.put_bytes(b"old bytes, about to be used again")  # deduplicated: nothing written
    store.put_tree(data)
    report = collect_garbage(store, [], [], delete=True)
    assert report.unreferenced == ()
    assert set(digests) <= set(report.too_recent)
