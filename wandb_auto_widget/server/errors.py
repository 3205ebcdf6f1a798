"""Errors the server reports to clients. Each carries its GraphQL code and its HTTP status.

Raised anywhere below the app; the app maps them to responses in one place
(``app.py``'s exception handlers, and ``gql/execution.py`` for GraphQL errors).
"""

from __future__ import annotations


class ServerError(Exception):
    """Base: ``code`` goes into the GraphQL error's extensions; ``status`` is the HTTP status
    of a response that is only this error."""

    code = "BAD_REQUEST"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServerError):
    """Bad input. The message names the field and how to fix it."""


class NotFound(ServerError):
    code, status = "NOT_FOUND", 404


class Conflict(ServerError):
    code, status = "CONFLICT", 409


class Unauthorized(ServerError):
    code, status = "UNAUTHENTICATED", 401


class Forbidden(ServerError):
    """A signed URL that is not valid (tampered, expired, or of the other kind)."""

    code, status = "FORBIDDEN", 403


class TooLarge(ServerError):
    code, status = "PAYLOAD_TOO_LARGE", 413


def invalid(field: str, exc: ValueError) -> Invalid:
    """``Invalid`` naming ``field``, from a domain error: a pydantic error becomes
    'where: problem' parts, without pydantic's links and input echoes."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
            message = err["msg"].removeprefix("Value error, ")
            parts.append(f"{loc}: {message}" if loc else message)
        return Invalid(f"{field}: {'; '.join(parts)}")
    return Invalid(f"{field}: {exc}")
