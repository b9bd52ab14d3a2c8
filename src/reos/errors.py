"""Typed business errors.

Every error a user can cause is one of these. Each carries the HTTP status the API answers
with and the exit code the CLI ends with, so the two entry points map them in one place
(``reos.app`` and ``reos.cli``) and a user mistake never shows a traceback.
"""

from __future__ import annotations

from typing import Any


class ReosError(Exception):
    """Base of all business errors: a message for a person plus machine-readable detail."""

    status_code: int = 400
    exit_code: int = 1
    code: str = "error"

    def __init__(self, message: str, *, field: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.detail:
            body["detail"] = self.detail
        return body


class ValidationFailed(ReosError):
    """Input was malformed or out of range; the message names the field or column."""

    status_code = 422
    exit_code = 2
    code = "validation_failed"


class NotFound(ReosError):
    """The thing does not exist in the caller's organisation (other orgs' rows look absent)."""

    status_code = 404
    exit_code = 3
    code = "not_found"


class Conflict(ReosError):
    """The request clashes with the current state (a duplicate name, a stale version)."""

    status_code = 409
    exit_code = 4
    code = "conflict"


class PreconditionFailed(ReosError):
    """The caller's copy is stale: its ``If-Match`` names a version that is no longer the
    current one (someone else changed the record since it was read)."""

    status_code = 412
    exit_code = 4
    code = "precondition_failed"


class PreconditionRequired(ReosError):
    """A change to a record that several people edit must say which version it applies
    to (``If-Match`` with the ETag read), so no one overwrites another silently."""

    status_code = 428
    exit_code = 2
    code = "precondition_required"


class Unauthenticated(ReosError):
    """Missing, malformed, expired or wrongly signed credentials."""

    status_code = 401
    exit_code = 5
    code = "unauthenticated"


class Forbidden(ReosError):
    """Valid credentials without the role the action needs."""

    status_code = 403
    exit_code = 6
    code = "forbidden"


class SchemaOutOfDate(ReosError):
    """The database schema is behind the code; ``reos db upgrade`` fixes it."""

    status_code = 503
    exit_code = 7
    code = "schema_out_of_date"


class PayloadTooLarge(ReosError):
    status_code = 413
    exit_code = 2
    code = "payload_too_large"


class RateLimited(ReosError):
    status_code = 429
    exit_code = 8
    code = "rate_limited"


class InsufficientData(ReosError):
    """Not enough data to do the job honestly (too few sales to train, no comps)."""

    status_code = 422
    exit_code = 9
    code = "insufficient_data"
