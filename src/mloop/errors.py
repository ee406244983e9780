"""The one exception tree of mloop.

Every error mloop raises on purpose is a :class:`MloopError`. Callers catch the
branch they care about; the CLI and (later) the server translate any of them
with :data:`EXIT_CODES` and :data:`HTTP_STATUS`, so the same failure reads the
same everywhere. Messages say what was wrong and what to do about it.

    MloopError
    ├── NotFound              a run, experiment, blob, ... does not exist
    ├── AlreadyExists         creating something whose name is taken
    ├── InvalidArgument       the caller's input is malformed
    │   └── NotAnMloopDatabase   the URI points at something that is not ours
    ├── Conflict              valid input that contradicts stored state
    │   └── SchemaMismatch       database schema and client disagree
    ├── PermissionDenied      the caller may not do this
    ├── IntegrityError        stored bytes no longer match their digest
    └── BackendUnavailable    database, object store or server cannot be reached
"""

from __future__ import annotations


class MloopError(Exception):
    """Base of every error mloop raises on purpose."""


class NotFound(MloopError):
    """The named object does not exist."""


class AlreadyExists(MloopError):
    """An object with that identity exists already."""


class InvalidArgument(MloopError):
    """The input is malformed; the message says which part and why."""


class NotAnMloopDatabase(InvalidArgument):
    """The store URI points at a database or file that mloop did not create."""


class Conflict(MloopError):
    """The input is well formed but contradicts what is stored."""


class SchemaMismatch(Conflict):
    """The database schema is older or newer than this version of mloop."""


class PermissionDenied(MloopError):
    """The caller is not allowed to perform the action."""


class IntegrityError(MloopError):
    """Stored data was altered: its bytes no longer hash to its digest."""


class BackendUnavailable(MloopError):
    """A database, object store or server could not be reached or used."""


# Most specific class first: lookups walk the MRO of the raised error.
EXIT_CODES: dict[type[MloopError], int] = {
    MloopError: 1,
    InvalidArgument: 2,
    NotFound: 3,
    AlreadyExists: 4,
    Conflict: 5,
    PermissionDenied: 6,
    IntegrityError: 7,
    BackendUnavailable: 8,
}

CHECKS_FAILED = 9
"""Exit code of a command whose checks ran and found a problem (``mloop data validate``):
distinct from every error's, so CI can tell bad data from a failing tool."""

HTTP_STATUS: dict[type[MloopError], int] = {
    MloopError: 500,
    InvalidArgument: 400,
    NotFound: 404,
    AlreadyExists: 409,
    Conflict: 409,
    PermissionDenied: 403,
    IntegrityError: 500,
    BackendUnavailable: 503,
}


def exit_code(error: MloopError) -> int:
    """The process exit code for ``error`` (the closest class in the table)."""
    return _lookup(EXIT_CODES, error)


def http_status(error: MloopError) -> int:
    """The HTTP status for ``error`` (the closest class in the table)."""
    return _lookup(HTTP_STATUS, error)


def _lookup(table: dict[type[MloopError], int], error: MloopError) -> int:
    for cls in type(error).__mro__:
        if cls in table:
            return table[cls]
    return table[MloopError]
