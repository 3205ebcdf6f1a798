"""GraphQL ids as W&B makes them: base64 of ``"<Type>:<number>"``."""

from __future__ import annotations

import base64
import binascii

from ..._jsontext import INT64_MAX
from ..errors import Invalid


def encode(kind: str, number: int | str) -> str:
    """``number`` is a row id; a string key (``"3:latest"``) for objects that are only ever
    returned, never looked up by id (aliases, memberships, tags)."""
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def decode(gql_id: str, *kinds: str, field: str = "id") -> tuple[str, int]:
    """Split an id into (type, number); ``kinds`` restricts the accepted types."""
    try:
        kind, _, number = base64.b64decode(gql_id, validate=True).decode().partition(":")
        value = int(number)
        if not 0 < value <= INT64_MAX:  # what SQLite can hold, and this server issues
            raise ValueError(value)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise Invalid(f"{field}: {str(gql_id)[:100]!r} is not an id this server issued") from None
    if kinds and kind not in kinds:
        raise Invalid(f"{field}: expected the id of a {' or '.join(kinds)}, got a {kind} id")
    return kind, value
