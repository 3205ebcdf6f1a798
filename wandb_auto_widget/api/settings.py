"""Resolving the server URL and API key the way wandb does."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_BASE_URL = "https://api.wandb.ai"


def resolve_base_url(base_url: str | None) -> str:
    """The argument, else ``WANDB_BASE_URL``, else W&B's cloud."""
    return (base_url or os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def resolve_api_key(api_key: str | None, base_url: str) -> str | None:
    """The argument, else ``WANDB_API_KEY``, else the password for the host in ``~/.netrc``."""
    if api_key:
        return api_key
    if os.environ.get("WANDB_API_KEY"):
        return os.environ["WANDB_API_KEY"]
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    host = urlparse(base_url).hostname or ""
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (FileNotFoundError, netrc.NetrcParseError, PermissionError):
        return None
    return entry[2] if entry else None
