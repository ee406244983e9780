"""Property tests: any folder tree survives add → checkout byte for byte, and its digest
depends only on its content, not on the order its files were written in or on when."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.data import DataClient

_NAME = st.text(
    alphabet=st.characters(
        whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_. é", max_codepoint=0x24F
    ),
    min_size=1,
    max_size=12,
).filter(lambda n: n not in (".", "..") and n.strip() == n)
_PATH = st.lists(_NAME, min_size=1, max_size=3).map("/".join)
_TREE = st.dictionaries(_PATH, st.binary(max_size=300), min_size=1, max_size=12).filter(
    lambda tree: (
        not any(other.startswith(path + "/") for path, other in itertools.permutations(tree, 2))
    )
)
_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def write(root: Path, files: dict[str, bytes], order: list[str]) -> Path:
    for name in order:
        path = root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return root


def read(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@_SETTINGS
@given(tree=_TREE)
def test_add_then_checkout_round_trips_any_tree(
    data: DataClient, tmp_path: Path, tree: dict[str, bytes]
) -> None:
    work = tmp_path / uuid.uuid4().hex
    src = write(work / "src", tree, sorted(tree))
    version = data.add(src, "tree").version
    assert read(data.checkout(version, work / "out")) == tree
    assert read(data.checkout(version, work / "copy", link=False)) == tree


@_SETTINGS
@given(tree=_TREE, seed=st.randoms(use_true_random=False))
def test_the_digest_ignores_write_order_and_times(
    data: DataClient, tmp_path: Path, tree: dict[str, bytes], seed: object
) -> None:
    work = tmp_path / uuid.uuid4().hex
    order = sorted(tree)
    shuffled = list(order)
    seed.shuffle(shuffled)  # type: ignore[attr-defined]
    first = write(work / "a", tree, order)
    second = write(work / "b", tree, shuffled)
    for path in second.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000))
    a = data.add(first, "a").version
    b = data.add(second, "b").version
    assert a.digest == b.digest
