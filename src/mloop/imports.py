"""``module:name`` references to user code: pipelines, automation policies."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from mloop.errors import InvalidArgument


def import_object(reference: str, how: str) -> object:
    """The object ``module:name`` (``name`` may be dotted) names; the current folder is
    importable, as for ``python -m``. ``how`` says how to name it, for the error when
    ``reference`` is not of that form."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgument(f"{reference!r}: name {how}")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        found: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidArgument(f"cannot import {module_name!r} for {reference}: {exc}") from None
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise InvalidArgument(f"module {module_name!r} has no {attribute!r}")
    return found
