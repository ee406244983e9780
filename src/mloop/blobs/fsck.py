"""Checking a blob store against what refers to it, and repairing it from second copies.

The caller names what is referenced, as for garbage collection: ``roots`` are
blobs referenced directly, ``trees`` are folder manifests whose files are
referenced too. :func:`check_store`

1. reads (and so verifies) every manifest in ``trees``;
2. checks that every referenced blob, manifests' files included, is stored;
3. hashes stored objects again, all of them or a sample: a corrupted one is
   moved to ``quarantine/`` as a read would;
4. with ``repair``, stores each missing, quarantined or corrupted blob again
   from a second copy the caller's :class:`Copies` knows of, used only once its
   bytes hash to the blob's digest. A quarantined object is never such a copy:
   it is there because its bytes are wrong.

Nothing else is changed: a blob without a good copy stays damaged, and the
report says which manifests (and so which folders) it breaks.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from mloop.blobs.digest import Digest, hash_bytes, hash_file
from mloop.blobs.hashcache import HashCache
from mloop.blobs.ingest import SILENT, Progress
from mloop.blobs.manifest import Manifest, ManifestEntry, walk_files
from mloop.blobs.store import BlobInfo, BlobStore
from mloop.errors import IntegrityError, InvalidArgument, MloopError, NotFound

_THREADS = 4


class Problem(StrEnum):
    """What is wrong with a blob."""

    MISSING = "missing"
    """Referenced, but not stored (deleted by hand, or never uploaded)."""
    QUARANTINED = "quarantined"
    """Referenced, and found corrupted by an earlier read: moved to ``quarantine/``."""
    CORRUPTED = "corrupted"
    """Its bytes no longer hash to its digest; moved to ``quarantine/`` by this check."""
    NOT_A_MANIFEST = "not a manifest"
    """Referenced as a folder, stored intact, but not a manifest: recorded wrongly."""


@dataclass(frozen=True, slots=True)
class Damage:
    digest: Digest
    problem: Problem
    repaired_from: Path | None = None
    """The second copy the blob was stored again from; None while it is damaged."""


@dataclass(frozen=True, slots=True)
class FsckReport:
    """What :func:`check_store` found, and what it repaired."""

    objects: int
    """Stored objects."""
    hashed: int
    """Of those, hashed again (all of them, or the sample)."""
    hashed_bytes: int
    referenced: int
    """Distinct blobs the metadata references, the files of its manifests included."""
    damaged: tuple[Damage, ...]
    """Every damaged blob, referenced or not, sorted by digest."""
    trees: Mapping[Digest, tuple[Digest, ...]] = field(default_factory=dict)
    """Referenced manifests that name a damaged blob → those blobs (repaired or not)."""

    @property
    def unrepaired(self) -> tuple[Damage, ...]:
        return tuple(damage for damage in self.damaged if damage.repaired_from is None)

    @property
    def clean(self) -> bool:
        """True when nothing is damaged now (all found damage, if any, was repaired)."""
        return not self.unrepaired

    def broken(self) -> set[Digest]:
        """The referenced digests that cannot be read now: damaged blobs, and the
        manifests whose files include one."""
        lost = {damage.digest for damage in self.unrepaired}
        return lost | {tree for tree, files in self.trees.items() if lost & set(files)}


class Copies(Protocol):
    """Where second copies of blobs may be found on this machine."""

    def files(self, digests: Collection[Digest]) -> Mapping[Digest, Sequence[Path]]:
        """Local files that held these digests when last seen (they may have changed)."""
        ...

    def folders(self, tree: Digest) -> Sequence[Path]:
        """Local folders that may hold the files of manifest ``tree``, at their paths."""
        ...


class LocalCopies:
    """The copies mloop itself makes: files in the hash cache (added or checked out
    from here) and folders named by a manifest's digest under ``roots`` (the
    checkout cache of datasets, the extraction cache of model packages)."""

    def __init__(self, cache: HashCache | None, roots: Iterable[Path]) -> None:
        self.cache = cache
        self.roots = tuple(roots)

    def files(self, digests: Collection[Digest]) -> Mapping[Digest, Sequence[Path]]:
        if self.cache is None:
            return {}
        return {
            digest: [Path(p) for p in paths] for digest, paths in self.cache.paths(digests).items()
        }

    def folders(self, tree: Digest) -> Sequence[Path]:
        return [root / tree.hex for root in self.roots if (root / tree.hex).is_dir()]


def check_store(
    store: BlobStore,
    roots: Iterable[Digest],
    trees: Iterable[Digest],
    *,
    sample: int | float | None = None,
    repair: bool = False,
    copies: Copies | None = None,
    progress: Progress | None = None,
) -> FsckReport:
    """Check ``store`` against the blobs referenced by ``roots`` and ``trees``.

    ``sample`` hashes only some stored objects again, chosen at random: a number
    of them (an int) or a share (a float, ``0 < sample <= 1``); None hashes them
    all. Manifests
    are always read in full, and every reference is always checked to exist.
    """
    trees = set(trees)
    damage: dict[Digest, Problem] = {}
    manifests = _read_manifests(store, trees, damage)
    referenced = set(roots) | trees | {e.digest for m in manifests.values() for e in m.entries}
    for digest in referenced - store.exists(referenced) - damage.keys():
        damage[digest] = Problem.QUARANTINED if store.quarantined(digest) else Problem.MISSING
    objects = list(store.iter_objects())
    chosen = _sample([info for info in objects if info.digest not in manifests], sample)
    _rehash(store, chosen, damage, progress or SILENT)
    repaired: dict[Digest, Path] = {}
    if repair and copies is not None:
        repaired = _repair(store, damage, manifests, copies)
    holding = _holding(manifests, damage)
    return FsckReport(
        objects=len(objects),
        hashed=len(chosen) + len(manifests),
        hashed_bytes=sum(info.size for info in chosen),
        referenced=len(referenced),
        damaged=tuple(
            Damage(digest, problem, repaired.get(digest))
            for digest, problem in sorted(damage.items())
        ),
        trees=holding,
    )


def _read_manifests(
    store: BlobStore, trees: set[Digest], damage: dict[Digest, Problem]
) -> dict[Digest, Manifest]:
    manifests = {}
    for tree in sorted(trees):
        try:
            manifests[tree] = store.get_manifest(tree)
        except NotFound:
            pass  # found missing with the other references
        except IntegrityError:
            damage[tree] = Problem.CORRUPTED
        except InvalidArgument:
            damage[tree] = Problem.NOT_A_MANIFEST
    return manifests


def _sample(objects: list[BlobInfo], sample: int | float | None) -> list[BlobInfo]:
    if sample is None:
        return objects
    if isinstance(sample, bool) or not isinstance(sample, int | float):
        raise InvalidArgument(f"sample {sample!r}: a number of blobs or a share, 0 < share <= 1")
    if isinstance(sample, int):
        if sample < 1:
            raise InvalidArgument(f"sample {sample}: at least 1 blob")
        count = sample
    else:
        if not 0 < sample <= 1:
            raise InvalidArgument(f"sample {sample}: a share of the blobs, 0 < share <= 1")
        count = max(1, round(len(objects) * sample))
    return random.sample(objects, min(count, len(objects)))


def _rehash(
    store: BlobStore, objects: list[BlobInfo], damage: dict[Digest, Problem], report: Progress
) -> None:
    report.start(sum(info.size for info in objects), len(objects))

    def check(info: BlobInfo) -> tuple[Digest, bool]:
        try:
            intact = store.verify(info.digest)
        except NotFound:  # deleted meanwhile (a collection): not damage
            intact = True
        report.advance(info.size, 1)
        return info.digest, intact

    with ThreadPoolExecutor(_THREADS) as pool:
        for digest, intact in pool.map(check, objects):
            if not intact:
                damage[digest] = Problem.CORRUPTED


def _repair(
    store: BlobStore,
    damage: Mapping[Digest, Problem],
    manifests: dict[Digest, Manifest],
    copies: Copies,
) -> dict[Digest, Path]:
    """Store damaged blobs again from verified second copies; manifests first, so that
    a repaired manifest's files are looked for in the same folder."""
    repaired: dict[Digest, Path] = {}
    for digest in sorted(damage):
        if damage[digest] is Problem.NOT_A_MANIFEST or digest in manifests:
            continue
        for folder in copies.folders(digest):
            if _rebuilt(folder, digest):  # the same files: store them (and their manifest)
                manifest = store.put_files(folder)
                if store.put_manifest(manifest) == digest:
                    manifests[digest] = manifest
                    repaired[digest] = folder
                    break
    files = [
        d for d in sorted(damage) if d not in repaired and damage[d] is not Problem.NOT_A_MANIFEST
    ]
    known = copies.files(files)
    for digest in files:
        for candidate in [*known.get(digest, ()), *_in_folders(digest, manifests, copies)]:
            if _holds(candidate, digest) and store.put_file(candidate) == digest:
                repaired[digest] = candidate
                break
    return repaired


def _rebuilt(folder: Path, tree: Digest) -> bool:
    """Whether ``folder`` holds exactly the files of the manifest stored as ``tree``."""
    try:
        manifest = Manifest.of(
            ManifestEntry(file.entry, hash_file(file.path), file.stat.st_size)
            for file in walk_files(folder)
        )
    except (MloopError, OSError):
        return False
    return hash_bytes(manifest.to_bytes()) == tree


def _in_folders(digest: Digest, manifests: Mapping[Digest, Manifest], copies: Copies) -> list[Path]:
    """Where checked-out folders of manifests that name ``digest`` would hold it."""
    found = []
    for tree, manifest in manifests.items():
        paths = [entry.path for entry in manifest.entries if entry.digest == digest]
        if paths:
            found += [
                folder.joinpath(*path.split("/"))
                for folder in copies.folders(tree)
                for path in paths
            ]
    return found


def _holds(candidate: Path, digest: Digest) -> bool:
    try:
        return candidate.is_file() and hash_file(candidate) == digest
    except (MloopError, OSError):
        return False


def _holding(
    manifests: Mapping[Digest, Manifest], damage: Mapping[Digest, Problem]
) -> dict[Digest, tuple[Digest, ...]]:
    holding: dict[Digest, tuple[Digest, ...]] = {}
    for tree, manifest in manifests.items():
        hit = sorted({entry.digest for entry in manifest.entries if entry.digest in damage})
        if hit:
            holding[tree] = tuple(hit)
    return holding
