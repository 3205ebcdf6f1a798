"""Errors the server reports to clients. Each becomes a GraphQL error with a code."""

from __future__ import annotations


class ServerError(Exception):
    """Base: ``code`` goes into the GraphQL error's extensions; ``status`` is the HTTP status
    used when the error is the whole answer (W&B's clients look at 404 and 409)."""

    code = "BAD_REQUEST"
    status = 200

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServerError):
    code, status = "NOT_FOUND", 404


class Conflict(ServerError):
    code, status = "CONFLICT", 409


class Invalid(ServerError):
    """Bad input. The message names the field and how to fix it."""

    code, status = "BAD_REQUEST", 200


class Unauthorized(ServerError):
    code, status = "UNAUTHENTICATED", 401
