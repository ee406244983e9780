"""Adding, finding, checking out and comparing dataset versions through the Python API."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from files import make_tree, read_tree
from mloop.blobs import Digest
from mloop.data import DataClient
from mloop.errors import Conflict, IntegrityError, InvalidArgument, NotFound
from mloop.store import DatasetKind


def age(root: Path, seconds: float = 60) -> None:
    """Make files look written a while ago, so the hash cache may trust them."""
    past = os.stat(root).st_mtime - seconds
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))


FILES = {"a.txt": b"alpha", "img/b.png": b"\x89PNG" + bytes(range(256)), "img/c/d.bin": b""}


def test_a_folder_round_trips_and_identical_content_makes_no_version(
    data: DataClient, tmp_path: Path
) -> None:
    src = make_tree(tmp_path / "src", FILES)
    first = data.add(src, "images", message="first")
    assert first.created and first.version.ref == "images@1"
    assert (first.version.kind, first.version.files, first.version.rows) == (
        DatasetKind.FOLDER,
        3,
        None,
    )
    assert first.version.size == sum(len(v) for v in FILES.values())
    again = data.add(src, "images")
    assert not again.created and again.version == first.version
    out = data.checkout("images@1", tmp_path / "out")
    assert read_tree(out) == FILES


def test_a_changed_file_makes_the_next_version(data: DataClient, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", FILES)
    age(src)
    data.add(src, "images")
    (src / "a.txt").write_bytes(b"ALPHA")  # same size, new content and mtime
    second = data.add(src, "images")
    assert second.created and second.version.version == 2 and second.version.parent == 1
    diff = data.diff("images@1", "images@2")
    assert [c.path for c in diff.changed] == ["a.txt"] and diff.unchanged == 2
    assert not diff.added and not diff.removed and diff.tables is None


def test_unchanged_files_are_not_hashed_again(data: DataClient, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", FILES)
    age(src)
    data.add(src, "images")
    prints = {p: p.stat() for p in src.rglob("*") if p.is_file()}
    from mloop.blobs.hashcache import Fingerprint

    cached = data.hash_cache.lookup({str(p): Fingerprint.of(s) for p, s in prints.items()})
    assert set(cached) == {str(p) for p in prints}
    assert cached[str(src / "a.txt")] == data.manifest("images@1").entries[0].digest


def test_versions_by_number_latest_and_digest_prefix(data: DataClient, tmp_path: Path) -> None:
    for text in ("one", "two", "three"):
        (tmp_path / "f.txt").write_text(text)
        data.add(tmp_path / "f.txt", "notes")
    v2 = data.version("notes@2")
    assert data.version("notes").version == 3 == data.version("notes@latest").version
    assert data.version(f"notes@{v2.digest[:8]}") == v2
    assert data.version(f"notes@{v2.digest[:8].upper()}") == v2
    with pytest.raises(NotFound, match="no version 9"):
        data.version("notes@9")
    with pytest.raises(NotFound, match="no dataset named 'other'"):
        data.version("other@1")
    with pytest.raises(NotFound, match="no version whose digest starts with"):
        data.version("notes@" + "f" * 10 if not v2.digest.startswith("f") else "notes@0000000a")
    for bad in ("notes@", "notes@-1", "notes@0", "notes@xyz", "@3", "notes@1@2"):
        with pytest.raises(InvalidArgument):
            data.version(bad)


def test_a_dataframe_is_stored_as_parquet_and_read_back(data: DataClient) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None], "z": [0.5, float("nan"), 2.0]})
    result = data.add(frame, "frame")
    assert result.version.kind is DatasetKind.TABLE and result.version.rows == 3
    assert data.manifest(result.version).entries[0].path == "data.parquet"
    back = data.get("frame@1")
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, frame)
    assert not data.add(frame.copy(), "frame").created
    profile = data.profile("frame")
    assert profile is not None and profile.rows == 3 and profile.names == ("x", "y", "z")


def test_a_single_file_gets_a_path_and_a_csv_a_dataframe(data: DataClient, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    data.add(tmp_path / "notes.txt", "notes")
    path = data.get("notes")
    assert isinstance(path, Path) and path.name == "notes.txt" and path.read_text() == "hello"
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    data.add(tmp_path / "t.csv", "table")
    frame = data.get("table")
    assert isinstance(frame, pd.DataFrame) and frame["a"].tolist() == [1, 2]


def test_writing_to_a_checkout_never_changes_the_store(data: DataClient, tmp_path: Path) -> None:
    """As root (the usual user in containers) a read-only hardlink is no protection."""
    (tmp_path / "big.bin").write_bytes(b"x" * 5000)
    version = data.add(tmp_path / "big.bin", "d").version
    entry = data.manifest(version).entries[0]
    stored = data.blobs.local_path(entry.digest)
    assert stored is not None
    out = data.checkout(version, tmp_path / "out")
    os.chmod(out / "big.bin", 0o644)
    with open(out / "big.bin", "ab") as file:
        file.write(b"appended")
    cached = data.path(version)
    os.chmod(cached, 0o644)
    with open(cached, "ab") as file:
        file.write(b"appended")
    assert stored.read_bytes() == b"x" * 5000
    assert read_tree(data.checkout(version, tmp_path / "again")) == {"big.bin": b"x" * 5000}
    assert data.path(version).read_bytes() == b"x" * 5000  # the cached copy is checked again


def test_checkout_hardlinks_only_when_asked(data: DataClient, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"big.bin": b"x" * 5000})
    version = data.add(src, "d").version
    entry = data.manifest(version).entries[0]
    stored = data.blobs.local_path(entry.digest)
    linked = data.checkout(version, tmp_path / "linked", link=True)
    assert stored is not None and (linked / "big.bin").stat().st_ino == stored.stat().st_ino
    copied = data.checkout(version, tmp_path / "copy")
    assert (copied / "big.bin").stat().st_ino != stored.stat().st_ino
    assert (copied / "big.bin").read_bytes() == b"x" * 5000
    assert (copied / "big.bin").stat().st_mtime_ns == stored.stat().st_mtime_ns


def test_bad_input_is_refused_and_nothing_is_stored(data: DataClient, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or folder"):
        data.add(tmp_path / "missing.csv", "d")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="holds no files"):
        data.add(tmp_path / "empty", "d")
    with pytest.raises(InvalidArgument, match="not a valid dataset name"):
        data.add(tmp_path, "bad name")
    with pytest.raises(InvalidArgument):
        data.add(42, "d")  # type: ignore[arg-type]
    assert data.datasets() == []


def test_a_malformed_csv_names_its_line_and_stores_no_version(
    data: DataClient, tmp_path: Path
) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    data.add(tmp_path / "t.csv", "t")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n")
    with pytest.raises(InvalidArgument, match="line 3"):
        data.add(tmp_path / "t.csv", "t")
    assert [v.version for v in data.versions("t")] == [1]


def test_checkout_into_a_folder_that_is_not_empty_writes_nothing(
    data: DataClient, tmp_path: Path
) -> None:
    data.add(make_tree(tmp_path / "src", FILES), "d")
    dest = make_tree(tmp_path / "dest", {"mine.txt": b"keep me"})
    with pytest.raises(Conflict, match="not empty"):
        data.checkout("d", dest)
    assert read_tree(dest) == {"mine.txt": b"keep me"}
    (tmp_path / "empty").mkdir()
    assert read_tree(data.checkout("d", tmp_path / "empty")) == FILES


def test_a_corrupted_blob_is_refused_naming_the_file(data: DataClient, tmp_path: Path) -> None:
    version = data.add(make_tree(tmp_path / "src", FILES), "d").version
    entry = next(e for e in data.manifest(version).entries if e.path == "img/b.png")
    stored = data.blobs.local_path(entry.digest)
    assert stored is not None
    stored.chmod(0o644)
    stored.write_bytes(b"rotten" + stored.read_bytes()[6:])
    with pytest.raises(IntegrityError, match=r"img/b\.png.*moved to"):
        data.checkout("d", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mloop-checkout")]
    with pytest.raises(NotFound, match="found corrupted"):
        data.checkout("d", tmp_path / "out", link=False)
    # Adding the original content again repairs the store; the version is unchanged.
    again = data.add(make_tree(tmp_path / "again", FILES), "d")
    assert not again.created
    assert read_tree(data.checkout("d", tmp_path / "out")) == FILES


def test_a_cached_path_is_checked_again_before_use(data: DataClient, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    data.add(tmp_path / "notes.txt", "notes")
    path = data.get("notes")
    assert isinstance(path, Path)
    path.unlink()
    path.parent.joinpath("intruder.txt").write_text("x")
    again = data.get("notes")
    assert isinstance(again, Path) and again.read_text() == "hello"
    assert sorted(p.name for p in again.parent.iterdir()) == ["notes.txt"]


def test_manifest_digest_of_a_known_folder_is_the_same_on_every_machine(
    data: DataClient, tmp_path: Path
) -> None:
    version = data.add(make_tree(tmp_path / "src", FILES), "d").version
    manifest = data.manifest(version)
    assert Digest(version.digest) == data.blobs.put_manifest(manifest)
    # Paths, content digests and sizes only: no times, inodes, owners or machine names.
    assert version.digest == KNOWN_DIGEST


KNOWN_DIGEST = "2ea0c6bbe38eac2f4477bcd89125620939c8d6e9cc33943624a59aeff369b9fd"
