"""Digests and hashing."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.blobs import Digest, hash_bytes, hash_file
from mloop.blobs.digest import MMAP_THRESHOLD
from mloop.errors import InvalidArgument, NotFound

# blake3 test vector: the hash of no bytes.
EMPTY = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"

hex_digests = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


def test_digest_shows_its_hex_and_a_short_form() -> None:
    digest = Digest(EMPTY)

    assert str(digest) == EMPTY
    assert digest.short == "af1349b9f5f9"
    assert f"blob {digest}" == f"blob {EMPTY}"


def test_digests_compare_and_hash_by_value() -> None:
    assert Digest(EMPTY) == Digest(EMPTY)
    assert len({Digest(EMPTY), Digest(EMPTY), Digest("0" * 64)}) == 2
    assert sorted([Digest(EMPTY), Digest("0" * 64)])[0] == Digest("0" * 64)


def test_digest_is_immutable() -> None:
    digest = Digest(EMPTY)
    with pytest.raises(AttributeError):
        digest.hex = "0" * 64  # type: ignore[misc]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        EMPTY[:-1],  # 63 characters
        EMPTY + "0",  # 65 characters
        EMPTY.upper(),
        "g" * 64,
        " " + EMPTY[1:],
        EMPTY[:-1] + "\n",
        b"0" * 64,
        None,
        42,
    ],
)
def test_anything_but_64_lowercase_hex_is_refused(bad: object) -> None:
    with pytest.raises(InvalidArgument, match="64 lowercase hex"):
        Digest(bad)  # type: ignore[arg-type]


def test_refusal_quotes_the_bad_value_briefly() -> None:
    with pytest.raises(InvalidArgument, match="'nope'"):
        Digest("nope")
    with pytest.raises(InvalidArgument) as info:
        Digest("x" * 10_000)
    assert len(str(info.value)) < 300


@given(hex_digests)
def test_digest_round_trips_through_its_string(text: str) -> None:
    assert str(Digest(text)) == text
    assert Digest(str(Digest(text))) == Digest(text)


def test_hash_of_nothing_is_blake3s() -> None:
    assert hash_bytes(b"").hex == EMPTY


def test_empty_file_hashes_like_no_bytes(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert hash_file(tmp_path / "empty").hex == EMPTY


# Sizes around the point where hash_file switches to multithreaded mmap.
_near_threshold = st.integers(MMAP_THRESHOLD - 3, MMAP_THRESHOLD + 3) | st.sampled_from(
    [MMAP_THRESHOLD * 4 + 1, 3 * MMAP_THRESHOLD // 2]
)


@st.composite
def _contents(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=5000))
    size = draw(_near_threshold)
    return random.Random(draw(st.integers(0, 2**32))).randbytes(size)


@settings(max_examples=40, deadline=None)
@given(_contents())
def test_hash_file_agrees_with_hash_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("hash") / "content"
    path.write_bytes(data)

    assert hash_file(path) == hash_bytes(data)
    assert hash_file(str(path)) == hash_bytes(bytearray(data)) == hash_bytes(memoryview(data))


def test_one_changed_byte_changes_the_digest(tmp_path: Path) -> None:
    data = bytearray(random.Random(1).randbytes(MMAP_THRESHOLD * 2))
    (tmp_path / "a").write_bytes(data)
    data[MMAP_THRESHOLD + 7] ^= 1
    (tmp_path / "b").write_bytes(data)

    assert hash_file(tmp_path / "a") != hash_file(tmp_path / "b")


def test_hashing_a_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nothing-here"):
        hash_file(tmp_path / "nothing-here")


def test_hashing_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="directory"):
        hash_file(tmp_path)
