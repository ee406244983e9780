"""The model registry: numbered versions of logged model packages, aliases with history.

    import mloop

    version = mloop.registry.register(info, "churn")    # info = mloop.models.log(...)
    mloop.registry.promote(version.uri)                 # churn@champion → 1
    mloop.registry.rollback("churn")                    # back to the one before
    mloop.registry.version_at("churn", "champion", "2026-03-03T14:00")

:class:`Registry` is the explicit API over any :class:`mloop.Client`.
"""

from mloop.registry.client import CHAMPION, Registry
from mloop.registry.fluent import lineage, promote, register, registry, rollback, version_at
from mloop.registry.lineage import Lineage

__all__ = [
    "CHAMPION",
    "Lineage",
    "Registry",
    "lineage",
    "promote",
    "register",
    "registry",
    "rollback",
    "version_at",
]
