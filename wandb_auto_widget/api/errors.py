"""Typed errors raised by :class:`~wandb_auto_widget.Api`: the only exceptions it raises.

::

    ApiError
    ├── AuthenticationError   the server refused the key (401)
    ├── NotFoundError         no such entity, project, run, integration or automation
    ├── ConflictError         the name is taken (409)
    ├── ValidationError       the server refused the input; its message names the field
    ├── UnsupportedError      an addition of the embedded server, asked of a server without it
    └── TransportError        unreachable, or still failing (429, 5xx, timeouts) after retries

Everything that can go wrong on the wire is translated in one place, ``transport._Wire``,
for the sync client and its async twin alike. (``ValueError`` is raised, before anything is
sent, for arguments of the wrong shape, such as a path without three parts.)
"""

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
