"""Secrets and integrations. Secret values are write-only: nothing here ever returns them."""

from __future__ import annotations

import ipaddress
import re
import sqlite3
from typing import Any

import httpx
import idna

from ..errors import Conflict, Invalid, NotFound
from .db import now
from .entities import get_entity
from .ids import decode, encode

WEBHOOK_NAME = re.compile(r"^[-\w]+([ ]+[-\w]+)*$")  # W&B's rule for webhook names


MAX_URL_LENGTH = 2048


def check_url(url: Any, field: str) -> str:
    """An http(s) URL that can be delivered to: scheme, host (IDNA), port; Invalid naming
    ``field`` otherwise. Checked when an integration is created, so that delivery never
    meets a URL it cannot even try."""
    shown = repr(url)[:200]
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Invalid(f"{field}: must be an http(s) URL of at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise Invalid(f"{field}: {shown} contains spaces or control characters")
    try:
        parsed = httpx.URL(url)
        scheme, host, port = parsed.scheme, parsed.host, parsed.port
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise Invalid(f"{field}: {shown} is not a valid URL ({exc})") from None
    if scheme not in ("http", "https"):
        raise Invalid(f"{field}: {shown} must start with http:// or https://")
    if not host:
        raise Invalid(f"{field}: {shown} has no host name")
    if port is not None and not 1 <= port <= 65535:
        raise Invalid(f"{field}: port {port} is not between 1 and 65535")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            idna.encode(host, uts46=True)
        except (idna.IDNAError, UnicodeError) as exc:
            raise Invalid(f"{field}: {host!r} is not a valid host name ({exc})") from None
    return url


def insert_secret(conn: sqlite3.Connection, entity: str, name: str, value: str) -> None:
    ent = get_entity(conn, entity)
    if not name or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise Invalid(
            f"secretName: {name!r} must be letters, digits and '_', not starting with a digit"
        )
    conn.execute(
        "INSERT INTO secrets(entity_id, name, value) VALUES (?, ?, ?) "
        "ON CONFLICT(entity_id, name) DO UPDATE SET value = excluded.value",
        (ent["id"], name, value),
    )


def secret_value(conn: sqlite3.Connection, entity_id: int, name: str | None) -> str | None:
    """For the delivery worker only: the value behind a secret reference."""
    if not name:
        return None
    row = conn.execute(
        "SELECT value FROM secrets WHERE entity_id = ? AND name = ?", (entity_id, name)
    ).fetchone()
    return None if row is None else str(row[0])


def create_webhook(conn: sqlite3.Connection, data: dict[str, Any]) -> sqlite3.Row:
    ent = get_entity(conn, data.get("entityName"))
    name = data.get("name") or ""
    if len(name) > 64 or not WEBHOOK_NAME.match(name):
        raise Invalid(
            f"name: {name!r} must be at most 64 letters, digits, '-' or '_',"
            " in words separated by spaces"
        )
    url = check_url(data.get("urlEndpoint"), "urlEndpoint")
    for ref in ("secretRef", "accessTokenRef"):
        if data.get(ref) and secret_value(conn, ent["id"], data[ref]) is None:
            raise Invalid(
                f"{ref}: no secret named {data[ref]!r}; create it with insertSecret first"
            )
    return _insert(
        conn,
        ent["id"],
        "webhook",
        name,
        url,
        secret_ref=data.get("secretRef"),
        access_token_ref=data.get("accessTokenRef"),
    )


def create_slack(conn: sqlite3.Connection, data: dict[str, Any]) -> sqlite3.Row:
    ent = get_entity(conn, data.get("entityName"))
    channel = data.get("channelName") or ""
    if not channel.strip():
        raise Invalid("channelName: required, e.g. '#alerts'")
    url = check_url(data.get("webhookUrl"), "webhookUrl")
    return _insert(
        conn,
        ent["id"],
        "slack",
        channel,
        url,
        team_name=data.get("teamName") or "slack",
        channel_name=channel,
    )


def _insert(
    conn: sqlite3.Connection, entity_id: int, kind: str, name: str, url: str, **extra: Any
) -> sqlite3.Row:
    try:
        cur = conn.execute(
            "INSERT INTO integrations(entity_id, kind, name, url, team_name, channel_name, "
            "secret_ref, access_token_ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entity_id,
                kind,
                name,
                url,
                extra.get("team_name"),
                extra.get("channel_name"),
                extra.get("secret_ref"),
                extra.get("access_token_ref"),
                now(),
            ),
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"name: a {kind} integration named {name!r} already exists") from None
    return conn.execute("SELECT * FROM integrations WHERE id = ?", (cur.lastrowid,)).fetchone()  # type: ignore[no-any-return]


def integration_json(row: sqlite3.Row) -> dict[str, Any]:
    """The GraphQL object, without the URL of a Slack webhook (a secret) or any secret."""
    gql_id = encode("Integration", row["id"])
    if row["kind"] == "slack":
        return {
            "__typename": "SlackIntegration",
            "id": gql_id,
            "teamName": row["team_name"],
            "channelName": row["channel_name"],
        }
    return {
        "__typename": "GenericWebhookIntegration",
        "id": gql_id,
        "name": row["name"],
        "urlEndpoint": row["url"],
    }


def get_integration(
    conn: sqlite3.Connection, gql_id: str, field: str = "integrationID"
) -> sqlite3.Row:
    _, number = decode(gql_id, "Integration", field=field)
    row = conn.execute("SELECT * FROM integrations WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"{field}: integration {gql_id!r} not found")
    return row  # type: ignore[no-any-return]


def integrations_of(conn: sqlite3.Connection, entity_id: int) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM integrations WHERE entity_id = ? ORDER BY id", (entity_id,)
    ).fetchall()


def get_integration_row(conn: sqlite3.Connection, integration_id: int) -> sqlite3.Row | None:
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM integrations WHERE id = ?", (integration_id,)
    ).fetchone()


def first_slack(conn: sqlite3.Connection, entity_id: int) -> sqlite3.Row | None:
    """The entity's first Slack integration (where ``wandb.alert`` messages go)."""
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT * FROM integrations WHERE entity_id = ? AND kind = 'slack' ORDER BY id LIMIT 1",
        (entity_id,),
    ).fetchone()


def disable(conn: sqlite3.Connection, integration_id: int) -> None:
    """An endpoint that answered 410 Gone: later firings to it fail at once."""
    conn.execute("UPDATE integrations SET disabled = 1 WHERE id = ?", (integration_id,))


def delete_integration(conn: sqlite3.Connection, gql_id: str) -> None:
    """Delete an integration no automation uses; Invalid naming the one that does."""
    _, number = decode(gql_id, "Integration")
    used = conn.execute("SELECT name FROM triggers WHERE integration_id = ?", (number,)).fetchone()
    if used is not None:
        raise Invalid(f"id: automation {used['name']!r} uses this integration; delete it first")
    if conn.execute("DELETE FROM integrations WHERE id = ?", (number,)).rowcount == 0:
        raise NotFound(f"id: integration {gql_id!r} not found")
