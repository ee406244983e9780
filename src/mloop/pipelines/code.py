"""Cache keys: a step's code, its inputs' digests, its parameters and its environment.

A step's code is its own source plus the source of the functions and classes it
uses that live in the project (not in the standard library or installed
packages), followed two levels deep, so editing a helper the step calls re-runs
the step. Editing anything else does not.
"""

from __future__ import annotations

import inspect
import sys
import sysconfig
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from blake3 import blake3

from mloop.pipelines.step import Step

_INSTALLED = tuple(
    str(Path(p).resolve())
    for p in {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        sys.prefix,
        sys.base_prefix,
    }
)


def code_digest(step: Step) -> str:
    hasher = blake3()
    for source in sorted(set(_sources(step.fn, depth=2))):
        hasher.update(source.encode())
    return hasher.hexdigest()


def _sources(obj: Any, depth: int) -> list[str]:
    try:
        found = [inspect.getsource(obj)]
    except (OSError, TypeError):
        return [repr(obj)]
    if depth == 0 or not inspect.isfunction(obj):
        return found
    names = obj.__code__.co_names
    for name in names:
        used = obj.__globals__.get(name)
        if isinstance(used, Step):
            used = used.fn
        if (inspect.isfunction(used) or inspect.isclass(used)) and _in_project(used):
            found += _sources(used, depth - 1)
    return found


def _in_project(obj: Any) -> bool:
    try:
        file = inspect.getsourcefile(obj)
    except TypeError:
        return False
    if file is None:
        return False
    resolved = str(Path(file).resolve())
    return not resolved.startswith(_INSTALLED) and "site-packages" not in resolved


def cache_key(step: Step, code: str, inputs: Mapping[str, str]) -> str:
    """The key of one call: code digest, each input's digest or canonical text, env."""
    hasher = blake3()
    hasher.update(f"step:{step.reference}\ncode:{code}\n".encode())
    for name in sorted(inputs):
        hasher.update(f"in:{name}={inputs[name]}\n".encode())
    for distribution in sorted(step.env):
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            version = "not installed"
        hasher.update(f"env:{distribution}={version}\n".encode())
    return hasher.hexdigest()
