"""The distributions a model package needs, pinned at the versions installed here.

Every package pins mloop, NumPy, pandas and PyArrow, plus its flavor's libraries
(``scikit-learn==1.9.1``, ...). A caller's extra requirement given as a bare name
(``"my-features"``) is pinned the same way; one with a version or a marker
(``"my-features>=2"``) is kept as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from importlib import metadata
from types import FunctionType
from typing import Any

from mloop.errors import InvalidArgument

BASE = ("mloop", "numpy", "pandas", "pyarrow")
"""What every package needs to be loaded."""

_BARE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,-]+\])?")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def canonical(name: str) -> str:
    """The normalised form of a distribution name (PEP 503): ``Scikit_Learn`` → ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pin(name: str) -> str:
    """``name==<installed version>``; InvalidArgument if ``name`` is not installed."""
    bare = name.partition("[")[0]
    try:
        version = metadata.version(bare)
    except metadata.PackageNotFoundError:
        raise InvalidArgument(
            f"requirement {name!r} is not installed here, so its version is unknown: "
            f"install it, or give a version (e.g. '{bare}==1.0')"
        ) from None
    return f"{name}=={version}"


def code_distributions(model: Any) -> list[str]:
    """The installed distributions that hold the code of ``model``'s classes (or, for a
    function, its module): a pickled model needs them wherever it is loaded."""
    if isinstance(model, FunctionType):
        modules = [model.__module__]
    else:
        modules = [cls.__module__ for cls in type(model).__mro__]
    found: list[str] = []
    for module in modules:
        for name in _providers().get(module.partition(".")[0], []):
            if name not in found:
                found.append(name)
    return found


@functools.cache
def _providers() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


def resolve(flavor_needs: Iterable[str], extra: Sequence[str] | None) -> list[str]:
    """The package's requirements: the base and the flavor's, pinned, then the caller's.

    A caller's requirement for a distribution already listed replaces that entry.
    """
    found: dict[str, str] = {}
    for name in (*BASE, *flavor_needs):
        found.setdefault(canonical(name), pin(name))
    for item in _check(extra):
        matched = _NAME.match(item)
        key = canonical(matched.group(0)) if matched else item
        found[key] = pin(item) if _BARE.fullmatch(item) else item
    return list(found.values())


def _check(extra: Sequence[str] | None) -> list[str]:
    if extra is None:
        return []
    if isinstance(extra, str) or not all(isinstance(item, str) for item in extra):
        raise InvalidArgument(
            "requirements must be a list of strings, e.g. ['my-features', 'requests>=2.31']"
        )
    items = [item.strip() for item in extra]
    for item in items:
        if not item or "\n" in item or item.startswith("-") or _NAME.match(item) is None:
            raise InvalidArgument(
                f"requirement {item!r} is not a distribution name with an optional version "
                "(e.g. 'requests>=2.31')"
            )
    return items
