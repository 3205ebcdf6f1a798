"""Webhook signatures: W&B's ``X-Wandb-Signature`` and the Standard Webhooks headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def wandb_signature(secret: str, body: bytes) -> str:
    """``base64(HMAC-SHA256(secret, body))``: what W&B sends as ``X-Wandb-Signature``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _standard_key(secret: str) -> bytes:
    # Standard Webhooks secrets look like "whsec_<base64>"; any other secret is used as is.
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :])
    return secret.encode()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>`` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(body: bytes, message_id: str, secret: str | None, token: str | None) -> dict[str, str]:
    """Every header of one delivery attempt; ``webhook-id`` is the same on every retry."""
    now = int(time.time())
    out = {
        "Content-Type": "application/json",
        "User-Agent": "wandb-auto-widget",
        "webhook-id": message_id,
        "webhook-timestamp": str(now),
    }
    if token:
        out["Authorization"] = f"Bearer {token}"
    if secret:
        out["X-Wandb-Signature"] = wandb_signature(secret, body)
        out["webhook-signature"] = standard_signature(secret, message_id, now, body)
    return out
