"""Names of dataset versions: ``NAME``, ``NAME@3``, ``NAME@latest``, ``NAME@<digest prefix>``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mloop.data.tables import table_format
from mloop.errors import InvalidArgument
from mloop.store import validate

LATEST = "latest"
MIN_PREFIX = 4
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class VersionRef:
    """A parsed reference: a version number, a digest prefix, or neither (the latest)."""

    name: str
    number: int | None = None
    digest_prefix: str | None = None

    def __str__(self) -> str:
        if self.number is not None:
            return f"{self.name}@{self.number}"
        return f"{self.name}@{self.digest_prefix or LATEST}"


def parse_ref(text: str) -> VersionRef:
    """Parse ``NAME[@VERSION]``; VERSION is a number, ``latest`` or a digest prefix.

    All digits means a version number; a digest prefix needs at least
    4 hex characters and a letter among them (``bikes@3fa2``).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(f"a dataset version is NAME, NAME@N or NAME@latest, got {text!r}")
    name, sep, version = text.strip().partition("@")
    validate.dataset_name(name)
    if not sep or version.lower() == LATEST:
        return VersionRef(name)
    if version.isdecimal() and version.isascii():
        number = int(version)
        if number < 1 or not validate.in_int64(number):
            raise InvalidArgument(f"{text!r}: version numbers start at 1")
        return VersionRef(name, number=number)
    lowered = version.lower()
    if len(lowered) >= MIN_PREFIX and _HEX.fullmatch(lowered):
        return VersionRef(name, digest_prefix=lowered)
    raise InvalidArgument(
        f"{text!r} names no version: after '@' give a number (bikes@3), 'latest', "
        f"or a digest prefix of at least {MIN_PREFIX} hex characters (bikes@3fa2c1)"
    )


def is_local(target: str) -> bool:
    """Whether ``target`` is local data rather than a version: it has a path separator or a
    data suffix (``./bikes``, ``new.csv``); anything else names a version."""
    return "/" in target or os.sep in target or table_format(target) is not None
