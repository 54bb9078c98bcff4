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


class IntegrityFailure(ChengxinError):
    status, exit_code, code = 500, 1, "integrity_failure"
