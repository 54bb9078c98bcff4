"""One exception hierarchy for Chengxin, mapped to HTTP status and CLI exit code in one place.

    ChengxinError
    ├── ConfigError          (settings missing or unsafe; exit 78, HTTP 500)
    ├── InvalidInput         (a request or file the caller can fix; exit 65, HTTP 422)
    ├── NotFound             (exit 66, HTTP 404)
    ├── NotAuthenticated     (no or unknown API key; exit 77, HTTP 401)
    ├── Forbidden            (key known, action not allowed; exit 77, HTTP 403)
    ├── PayloadTooLarge      (batch over the documented limit; exit 65, HTTP 413)
    ├── Conflict             (the state or an earlier decision forbids it: decided twice; exit 65, HTTP 409)
    ├── Unavailable          (the database or NATS cannot be reached; exit 69, HTTP 503)
    └── IntegrityFailure     (the credit log does not verify; exit 1, HTTP 500)

Exit codes follow BSD sysexits where one fits, so scripts can tell "bad input" from "broken store".
`from_foreign` maps the ordinary failures of other libraries (a missing file, a database that cannot be
reached) onto this hierarchy, for the CLI and the API alike.
"""

from __future__ import annotations


class ChengxinError(Exception):
    """Base of every error Chengxin raises on purpose."""

    status = 500
    exit_code = 1
    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(ChengxinError):
    status, exit_code, code = 500, 78, "config"


class InvalidInput(ChengxinError):
    status, exit_code, code = 422, 65, "invalid_input"


class NotFound(ChengxinError):
    status, exit_code, code = 404, 66, "not_found"


class NotAuthenticated(ChengxinError):
    status, exit_code, code = 401, 77, "not_authenticated"


class Forbidden(ChengxinError):
    status, exit_code, code = 403, 77, "forbidden"


class PayloadTooLarge(ChengxinError):
    status, exit_code, code = 413, 65, "payload_too_large"


class Conflict(ChengxinError):
    status, exit_code, code = 409, 65, "conflict"


class Unavailable(ChengxinError):
    status, exit_code, code = 503, 69, "unavailable"


class Busy(Unavailable):
    """The node is well but this work is already running (a shadow report): try again shortly. Not an
    outage: its reason is the caller's to read, and nothing is logged as failing."""

    code = "busy"


class IntegrityFailure(ChengxinError):
    status, exit_code, code = 500, 1, "integrity_failure"


def from_foreign(e: BaseException) -> ChengxinError | None:
    """The Chengxin error an ordinary failure stands for (a missing file, a YAML file that does not parse, a
    setting out of range, a database that cannot be reached or has no schema); None for a bug, whose
    traceback is wanted. The CLI and the API map these as they map their own errors."""
    import yaml
    from pydantic import ValidationError
    from sqlalchemy.exc import InterfaceError, OperationalError

    from chengxin.domain.vocabulary import VocabularyError

    if isinstance(e, OSError) and e.filename is not None:
        return InvalidInput(f"{e.filename}: {e.strerror or e}")
    if isinstance(e, OverflowError):  # a number a command was given, beyond what the store keeps (found by review)
        return InvalidInput(f"a number out of range: {e}")
    if isinstance(e, VocabularyError):
        return InvalidInput(str(e).splitlines()[0])
    if isinstance(e, yaml.YAMLError):
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return InvalidInput(f"not YAML: {getattr(e, 'problem', None) or e}{where}")
    if isinstance(e, ValidationError):  # settings from the environment
        return ConfigError("; ".join(f"CHENGXIN_{'.'.join(map(str, x['loc'])).upper()}: {x['msg']}"
                                     for x in e.errors()))
    if isinstance(e, OperationalError | InterfaceError):
        first = str(e.orig or e).splitlines()[0]
        if "no such table" in first or ("relation" in first and "does not exist" in first):
            return ConfigError(f"the store has no schema or an old one ({first}): run `chengxin db upgrade`")
        if any(sign in first.lower() for sign in _UNREACHABLE):  # other errors are bugs: their traceback shows
            return Unavailable(f"the database cannot be used: {first}")
    return None


# what a database that cannot be reached or opened says (psycopg, SQLite)
_UNREACHABLE = ("connection", "could not connect", "could not translate host", "unable to open database",
                "timeout expired", "server closed", "database is locked", "disk i/o error", "readonly database")
