"""Flavors: the kinds of model mloop can package, behind a lazy registry.

Each flavor is named by ``"module:attribute"`` and imported only when needed;
importing a flavor module imports no ML library (that happens when a model is
saved or loaded, with a message naming the extra to install if it is missing).

A model gets the first flavor, in registry order, that recognises it: LightGBM
comes before scikit-learn because LightGBM's wrappers are scikit-learn
estimators too, and ``python`` (anything with ``predict``) comes last.
"""

from __future__ import annotations

import importlib
import threading

from mloop.errors import InvalidArgument
from mloop.models.flavors.base import (
    Flavor,
    LoadOptions,
    ModelContext,
    Predictor,
)

_REGISTRY: dict[str, str] = {
    "lightgbm": "mloop.models.flavors.lightgbm:FLAVOR",
    "sklearn": "mloop.models.flavors.sklearn:FLAVOR",
    "python": "mloop.models.flavors.python:FLAVOR",
}
_loaded: dict[str, Flavor] = {}
_lock = threading.Lock()


def names() -> list[str]:
    """The registered flavors, in the order they are tried."""
    return list(_REGISTRY)


def register(name: str, target: str, *, before: str | None = None) -> None:
    """Add a flavor: ``target`` is ``"package.module:ATTRIBUTE"``, an object that follows
    the :class:`Flavor` protocol. It is tried before the flavor ``before`` (default:
    before ``python``, which takes any object with a predict method)."""
    if not name.isidentifier() or ":" not in target:
        raise InvalidArgument(
            f"register a flavor as register('name', 'package.module:ATTRIBUTE'), "
            f"got {name!r}, {target!r}"
        )
    anchor = "python" if before is None else before
    if anchor == name:
        raise InvalidArgument(f"flavor {name!r} cannot be registered before itself")
    if anchor not in _REGISTRY:
        raise InvalidArgument(f"no flavor {anchor!r} to insert before: {', '.join(_REGISTRY)}")
    with _lock:
        entries = [(key, value) for key, value in _REGISTRY.items() if key != name]
        at = [key for key, _ in entries].index(anchor)
        entries.insert(at, (name, target))
        _REGISTRY.clear()
        _REGISTRY.update(entries)
        _loaded.pop(name, None)


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``."""
    target = _REGISTRY.get(name)
    if target is None:
        raise InvalidArgument(f"unknown model flavor {name!r}: mloop knows {', '.join(_REGISTRY)}")
    with _lock:
        found = _loaded.get(name)
        if found is None:
            module, _, attribute = target.partition(":")
            try:
                found = _loaded[name] = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise InvalidArgument(
                    f"the model flavor {name!r} ({target}) cannot be loaded: {exc}"
                ) from None
    return found


def flavor_for(model: object) -> Flavor:
    """The first flavor that recognises ``model``; InvalidArgument lists them all."""
    for name in _REGISTRY:
        flavor = get_flavor(name)
        if flavor.matches(model):
            return flavor
    supported = "; ".join(f"{name}: {get_flavor(name).description}" for name in _REGISTRY)
    raise InvalidArgument(
        f"cannot package a {type(model).__module__}.{type(model).__qualname__}: "
        f"it is none of the supported flavors ({supported})"
    )


__all__ = [
    "Flavor",
    "LoadOptions",
    "ModelContext",
    "Predictor",
    "flavor_for",
    "get_flavor",
    "names",
    "register",
]
