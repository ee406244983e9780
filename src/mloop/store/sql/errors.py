"""Database errors as mloop errors, at the store seam.

Every public method of the SQL stores is wrapped by :func:`translate_errors`,
so callers only ever see :class:`~mloop.errors.MloopError` subclasses that
name the database and say what went wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mloop.errors import (
    BackendUnavailable,
    Conflict,
    IntegrityError,
    InvalidArgument,
    MloopError,
    NotAnMloopDatabase,
)

C = TypeVar("C", bound=type)


def shown_url(engine: Engine) -> str:
    """The URL as the user wrote it: no driver name, no password."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    return url.render_as_string(hide_password=True)


def database_error(engine: Engine, exc: sa.exc.DBAPIError) -> MloopError:
    """The mloop error for a failure the database driver reported."""
    where = f"the database {shown_url(engine)}"
    reason = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
    code = getattr(exc.orig, "sqlite_errorname", "")
    if code == "SQLITE_NOTADB":
        return NotAnMloopDatabase(f"{where} is not an mloop database ({reason})")
    if code == "SQLITE_CORRUPT":
        return IntegrityError(f"{where} is damaged ({reason}): restore it from a backup")
    if isinstance(exc, sa.exc.DataError):
        return InvalidArgument(f"{where} refused a value: {reason}")
    if isinstance(exc, sa.exc.IntegrityError):
        return Conflict(f"{where} refused the change: {reason}")
    return BackendUnavailable(f"cannot use {where}: {reason}")


def translate_errors(cls: C) -> C:
    """Wrap every public method of ``cls`` (which has ``_engine``) in the translation."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _translated(member))
    return cls


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sa.exc.DBAPIError as exc:
            raise database_error(self._engine, exc) from exc

    return wrapper
