"""Names of registered model versions: ``models:/NAME/3``, ``models:/NAME@champion``.

The ``models:/`` prefix may be left out where only a registered model can be
meant (``churn/3``, ``churn@3``, ``churn@champion``); ``NAME`` alone and
``NAME@latest`` mean the newest version that is not archived.
"""

from __future__ import annotations

from dataclasses import dataclass

from mloop.errors import InvalidArgument, NotFound
from mloop.store import ModelVersion, ModelVersionStatus, Store, validate

SCHEME = "models:/"
LATEST = "latest"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed reference: a version number, an alias, or neither (the latest)."""

    name: str
    number: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.number is not None:
            return f"{SCHEME}{self.name}/{self.number}"
        return f"{SCHEME}{self.name}@{self.alias or LATEST}"


def is_model_uri(text: str) -> bool:
    return text.startswith(SCHEME)


def parse_model_ref(text: str) -> ModelRef:
    """Parse ``[models:/]NAME[/N | @N | @ALIAS | @latest]``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(
            f"a model version is models:/NAME/N or models:/NAME@ALIAS, got {text!r}"
        )
    body = text.strip()
    body = body[len(SCHEME) :] if is_model_uri(body) else body
    for sep in ("/", "@"):
        name, found, rest = body.partition(sep)
        if found:
            break
    validate.model_name(name)
    if not found or rest == LATEST:
        return ModelRef(name)
    if rest.isdecimal() and rest.isascii():
        number = int(rest)
        if number < 1 or not validate.in_int64(number):
            raise InvalidArgument(f"{text!r}: version numbers start at 1")
        return ModelRef(name, number=number)
    if sep == "@":
        return ModelRef(name, alias=validate.alias(rest))
    raise InvalidArgument(
        f"{text!r} names no version: use models:/NAME/3, models:/NAME@champion "
        "or models:/NAME@latest"
    )


def resolve_version(store: Store, ref: ModelRef | str, project: str = "default") -> ModelVersion:
    """The registered version ``ref`` names, or NotFound saying what there is instead."""
    ref = parse_model_ref(ref) if isinstance(ref, str) else ref
    if ref.number is not None:
        return store.models.version(ref.name, ref.number, project)
    model = store.models.get(ref.name, project)
    if ref.alias is not None:
        number = model.aliases.get(ref.alias)
        if number is None:
            known = ", ".join(f"@{a}" for a in model.aliases) or "none yet"
            raise NotFound(f"model {ref.name!r} has no alias @{ref.alias} (its aliases: {known})")
        return store.models.version(ref.name, number, project)
    for version in store.models.versions(ref.name, project):
        if version.status is ModelVersionStatus.READY:
            return version
    raise NotFound(f"model {ref.name!r} has no version that is not archived")
