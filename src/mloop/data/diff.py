"""What changed between two dataset versions: files, and for tables, schema and statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mloop.blobs import Manifest
from mloop.data.profile_diff import ProfileDiff
from mloop.store import DatasetVersion


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file whose content differs: its path and sizes in bytes (None where absent)."""

    path: str
    old_size: int | None
    new_size: int | None


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    """Files added, removed and changed from ``old`` to ``new``; ``tables`` for tabular data."""

    old: DatasetVersion
    new: DatasetVersion
    added: tuple[FileChange, ...]
    removed: tuple[FileChange, ...]
    changed: tuple[FileChange, ...]
    unchanged: int
    tables: ProfileDiff | None
    """Schema changes, row counts and the largest changes in column statistics."""

    @property
    def identical(self) -> bool:
        return self.old.digest == self.new.digest

    def to_dict(self) -> dict[str, Any]:
        def files(changes: tuple[FileChange, ...]) -> list[dict[str, Any]]:
            return [
                {"path": c.path, "old_size": c.old_size, "new_size": c.new_size} for c in changes
            ]

        return {
            "old": self.old.ref,
            "new": self.new.ref,
            "identical": self.identical,
            "added": files(self.added),
            "removed": files(self.removed),
            "changed": files(self.changed),
            "unchanged": self.unchanged,
            "tables": None if self.tables is None else self.tables.to_dict(),
        }


def compare_files(
    old: Manifest, new: Manifest
) -> tuple[tuple[FileChange, ...], tuple[FileChange, ...], tuple[FileChange, ...], int]:
    """(added, removed, changed, number unchanged), each sorted by path."""
    before = {entry.path: entry for entry in old.entries}
    after = {entry.path: entry for entry in new.entries}
    added = tuple(FileChange(p, None, after[p].size) for p in sorted(after.keys() - before.keys()))
    removed = tuple(
        FileChange(p, before[p].size, None) for p in sorted(before.keys() - after.keys())
    )
    common = sorted(before.keys() & after.keys())
    changed = tuple(
        FileChange(p, before[p].size, after[p].size)
        for p in common
        if before[p].digest != after[p].digest
    )
    return added, removed, changed, len(common) - len(changed)
