"""Driver errors become product errors here, so nothing above storage imports asyncpg.

A failure to reach or keep the database leaves the outcome of a write unknown, which the
contract calls `unavailable` (the client retries with the same bidId); any other database
error is a bug on our side (`internal`). The driver's exception stays as `__cause__` for
the logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from bidserver.errors import BidserverError, Internal, Unavailable

# The server is gone, going, not yet up, or full: all transient from the client's side.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, DNS, and TimeoutError (an OSError subclass)
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # "connection is closed" mid-operation
)


# The server refused this attempt for a passing reason: a lock, a deadlock, a serialisation
# conflict, a cancelled statement, exhausted resources. Trying again later may well succeed.
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "57014", "53")


class DatabaseUnreachable(Unavailable):
    """The database did not answer in time at start-up; the message names the setting."""


def is_connection_error(exc: BaseException) -> bool:
    """Tell retryable reachability failures from errors that retrying cannot fix."""
    return isinstance(exc, _CONNECTION_ERRORS)


def is_transient(exc: BaseException) -> bool:
    """A database error that a later attempt of the same statement may not meet again."""
    state = getattr(exc, "sqlstate", None) if isinstance(exc, asyncpg.PostgresError) else None
    return isinstance(state, str) and state.startswith(_TRANSIENT_SQLSTATES)


def translate_error(exc: BaseException) -> BaseException:
    """Map one driver error to the product error a caller may show; others pass as is."""
    if isinstance(exc, BidserverError):
        return exc
    if is_connection_error(exc):
        return Unavailable("database unavailable")
    if is_transient(exc):
        return Unavailable("database busy")
    if isinstance(exc, asyncpg.PostgresError):
        return Internal("database error", sqlstate=exc.sqlstate)
    return exc


@contextmanager
def translate() -> Iterator[None]:
    """Wrap driver calls so callers only ever see `BidserverError` for database failures."""
    try:
        yield
    except Exception as exc:
        mapped = translate_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
