"""Typed errors raised by :class:`~wandb_auto_widget.Api`."""

from __future__ import annotations


class ApiError(Exception):
    """Base class of every error the client raises."""


class AuthenticationError(ApiError):
    """The server rejected the API key (HTTP 401)."""


class NotFoundError(ApiError):
    """The entity, project, run, integration or automation does not exist."""


class ConflictError(ApiError):
    """The name is taken, e.g. an automation with the same name exists (HTTP 409)."""


class ValidationError(ApiError):
    """The server rejected the input; the message is the server's, naming the field."""


class TransportError(ApiError):
    """The server could not be reached, or kept failing, after retries with backoff."""


class UnsupportedError(ApiError):
    """The server does not offer what was asked: an addition of the embedded server (such
    as execution history) against W&B. The message names the server feature it needs."""
