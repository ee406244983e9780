"""Folders as manifests: storing, reading and checking out trees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from files import make_tree, read_tree
from mloop.blobs import BlobStore, Digest, Manifest, ManifestEntry, hash_bytes, open_blobs
from mloop.errors import IntegrityError, InvalidArgument, NotFound

from .conftest import StoreCase

DIGEST = hash_bytes(b"x")


FILES = {
    "README.md": b"# data\n",
    "train/part-0.csv": b"a,b\n1,2\n",
    "train/part-1.csv": b"a,b\n3,4\n",
    "test/part-0.csv": b"a,b\n1,2\n",  # same content as train/part-0.csv
    "deep/er/still/empty.txt": b"",
    "big.bin": os.urandom(3 << 20),
}


def test_folder_round_trip(store: BlobStore, tmp_path: Path) -> None:
    tree = store.put_tree(make_tree(tmp_path / "src", FILES))

    manifest = store.checkout_tree(tree, tmp_path / "out")

    assert read_tree(tmp_path / "out") == FILES
    assert [entry.path for entry in manifest.entries] == sorted(FILES)
    assert manifest.size == sum(len(data) for data in FILES.values())


def test_files_of_a_tree_are_stored_once_each(store: BlobStore, tmp_path: Path) -> None:
    tree = store.put_tree(make_tree(tmp_path / "src", FILES))

    contents = {hash_bytes(data) for data in FILES.values()}
    assert set(store.iter_digests()) == contents | {tree}


def test_same_content_gives_the_same_manifest_digest(store: BlobStore, tmp_path: Path) -> None:
    first = store.put_tree(make_tree(tmp_path / "a", FILES))
    second = store.put_tree(make_tree(tmp_path / "b", dict(reversed(FILES.items()))))
    changed = store.put_tree(make_tree(tmp_path / "c", {**FILES, "README.md": b"# other\n"}))

    assert first == second
    assert changed != first


def test_manifest_lists_paths_digests_and_sizes(store: BlobStore, tmp_path: Path) -> None:
    tree = store.put_tree(make_tree(tmp_path / "src", {"b/c.txt": b"abc", "a.txt": b""}))

    assert store.get_manifest(tree) == Manifest(
        (
            ManifestEntry("a.txt", hash_bytes(b""), 0),
            ManifestEntry("b/c.txt", hash_bytes(b"abc"), 3),
        )
    )


def test_empty_folder_round_trip(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()

    store.checkout_tree(store.put_tree(tmp_path / "src"), tmp_path / "out")

    assert (tmp_path / "out").is_dir() and read_tree(tmp_path / "out") == {}


def test_checkout_replaces_listed_files_and_keeps_others(store: BlobStore, tmp_path: Path) -> None:
    tree = store.put_tree(make_tree(tmp_path / "src", {"a.txt": b"new"}))
    make_tree(tmp_path / "out", {"a.txt": b"old", "mine.txt": b"keep me"})

    store.checkout_tree(tree, tmp_path / "out")

    assert read_tree(tmp_path / "out") == {"a.txt": b"new", "mine.txt": b"keep me"}


def test_checkout_verifies_every_file(case: StoreCase, tmp_path: Path) -> None:
    tree = case.store.put_tree(make_tree(tmp_path / "src", {"a.txt": b"aaa", "b.txt": b"bbb"}))
    bad = hash_bytes(b"bbb")
    case.overwrite_object(bad.hex, b"BBB")

    with pytest.raises(IntegrityError, match=bad.hex):
        case.store.checkout_tree(tree, tmp_path / "out")

    assert not (tmp_path / "out" / "b.txt").exists()


def test_checkout_of_a_missing_file_blob_is_not_found(store: BlobStore, tmp_path: Path) -> None:
    tree = store.put_tree(make_tree(tmp_path / "src", {"a.txt": b"aaa"}))
    store.delete([hash_bytes(b"aaa")])

    with pytest.raises(NotFound, match=hash_bytes(b"aaa").hex):
        store.checkout_tree(tree, tmp_path / "out")


def test_put_tree_of_something_that_is_not_a_folder(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    for path in (tmp_path / "file", tmp_path / "missing"):
        with pytest.raises(InvalidArgument, match="not a directory"):
            store.put_tree(path)


def test_put_tree_refuses_symlinked_folders(store: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"a"})
    (src / "loop").symlink_to(src)

    with pytest.raises(InvalidArgument, match="symlink to a folder"):
        store.put_tree(src)


def test_put_tree_stores_the_content_of_symlinked_files(store: BlobStore, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"target"})
    (src / "link.txt").symlink_to(src / "a.txt")

    store.checkout_tree(store.put_tree(src), tmp_path / "out")

    assert read_tree(tmp_path / "out") == {"a.txt": b"target", "link.txt": b"target"}
    assert not (tmp_path / "out" / "link.txt").is_symlink()


# --- malicious and malformed manifests --------------------------------------------


def manifest_blob(store: BlobStore, *paths: str) -> Digest:
    """A hand-crafted manifest naming ``paths``, stored as a blob."""
    content = store.put_bytes(b"pwned")
    entries = [{"path": path, "digest": content.hex, "size": 5} for path in paths]
    document = {"format": "mloop.manifest/1", "entries": entries}
    return store.put_bytes(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../evil.txt", "'..' part"),
        ("a/../../evil.txt", "'..' part"),
        ("/tmp/evil.txt", "absolute"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("", "non-empty"),
        ("a\\..\\b", "backslash"),
    ],
)
def test_malicious_manifest_writes_nothing(
    store: BlobStore, tmp_path: Path, path: str, reason: str
) -> None:
    tree = manifest_blob(store, "fine.txt", path)
    dest = tmp_path / "jail" / "dest"

    with pytest.raises(InvalidArgument, match=f"manifest entry.*{reason}"):
        store.checkout_tree(tree, dest)
    with pytest.raises(InvalidArgument, match=tree.hex):
        store.get_manifest(tree)

    assert list(tmp_path.rglob("*")) == []  # not even fine.txt, nor an empty dest


def test_checkout_does_not_follow_symlinks_out_of_dest(store: BlobStore, tmp_path: Path) -> None:
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    tree = manifest_blob(store, "sub/evil.txt")

    with pytest.raises(InvalidArgument, match="outside"):
        store.checkout_tree(tree, dest)

    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"\x89PNG not json", "not JSON"),
        (b'{"entries": []}', "format"),
        (b'{"format": "mloop.manifest/1", "entries": {}}', "not a list"),
        (b'{"format": "mloop.manifest/1", "entries": [{"path": "a"}]}', "path, digest and size"),
        (
            b'{"format": "mloop.manifest/1", '
            b'"entries": [{"path": "a", "digest": "ab", "size": 1}]}',
            "64 lowercase hex",
        ),
    ],
)
def test_a_blob_that_is_not_a_manifest(store: BlobStore, blob: bytes, reason: str) -> None:
    digest = store.put_bytes(blob)

    with pytest.raises(InvalidArgument, match=reason) as info:
        store.get_manifest(digest)
    assert digest.hex in str(info.value)


@pytest.mark.parametrize(
    "paths",
    [["a", "a"], ["a", "a/b"]],
    ids=["duplicate", "file-and-folder"],
)
def test_manifest_with_clashing_paths_is_refused(paths: list[str]) -> None:
    with pytest.raises(InvalidArgument, match=r"twice|both"):
        Manifest.of(ManifestEntry(path, DIGEST, 1) for path in paths)


@pytest.mark.parametrize("path", ["../a", "/abs", "a/..", "."])
def test_entries_refuse_paths_leaving_the_folder(path: str) -> None:
    with pytest.raises(InvalidArgument, match=repr(path).replace(".", r"\.")):
        ManifestEntry(path, DIGEST, 1)


@pytest.mark.parametrize("size", [-1, 1.5, True, "3"])
def test_entries_refuse_bad_sizes(size: object) -> None:
    with pytest.raises(InvalidArgument, match="size"):
        ManifestEntry("a", DIGEST, size)  # type: ignore[arg-type]


def test_unsorted_entries_are_refused_unless_built_with_of() -> None:
    entries = (ManifestEntry("b", DIGEST, 1), ManifestEntry("a", DIGEST, 1))
    with pytest.raises(InvalidArgument, match="sorted"):
        Manifest(entries)
    assert [entry.path for entry in Manifest.of(entries).entries] == ["a", "b"]


# --- properties ---------------------------------------------------------------------

# File names a POSIX filesystem accepts (no "/" or NUL); "\\" is refused as unportable.
_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="/\\\x00"),
    min_size=1,
    max_size=12,
).filter(lambda name: name not in {".", ".."})
_paths = st.lists(_names, min_size=1, max_size=3).map("/".join)


@st.composite
def _trees(draw: st.DrawFn) -> dict[str, bytes]:
    """Files by path, without a path that is both a file and a folder."""
    files: dict[str, bytes] = {}
    for path in draw(st.lists(_paths, max_size=8, unique=True)):
        parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
        clash = parents & files.keys() or any(other.startswith(path + "/") for other in files)
        if not clash:
            files[path] = draw(st.binary(max_size=64))
    return files


@st.composite
def _manifests(draw: st.DrawFn) -> Manifest:
    tree = draw(_trees())
    return Manifest.of(
        ManifestEntry(path, hash_bytes(data), len(data)) for path, data in tree.items()
    )


@given(_manifests())
def test_manifest_serialisation_round_trips(manifest: Manifest) -> None:
    data = manifest.to_bytes()

    assert Manifest.from_bytes(data) == manifest
    assert Manifest.from_bytes(data).to_bytes() == data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees())
def test_arbitrary_trees_round_trip(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes]
) -> None:
    work = tmp_path_factory.mktemp("tree")
    store = open_blobs(work / "blobs")

    tree = store.put_tree(make_tree(work / "src", files))
    store.checkout_tree(tree, work / "out")

    assert read_tree(work / "out") == read_tree(work / "src") == files
    assert store.put_tree(work / "out") == tree
