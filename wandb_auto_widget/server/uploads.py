"""Run-file uploads: wandb PUTs files to URLs we hand out, without an Authorization header,
so each URL carries its own short-lived, signed credential."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path

import orjson

from .errors import Invalid

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
URL_LIFETIME_S = 24 * 60 * 60
_SAFE = re.compile(r"^[\w.\-/ ]+$")


class Uploads:
    """Signs upload URLs and maps them to files under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.base_url = ""
        self._key = secrets.token_bytes(32)  # URLs die with the process, as they should

    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(
            hmac.new(self._key, payload, hashlib.sha256).digest()[:18]
        ).decode()

    def url(self, run_id: int, name: str) -> str:
        if not _SAFE.match(name) or ".." in Path(name).parts or name.startswith("/"):
            raise Invalid(f"files: {name!r} is not a file name this server accepts")
        payload = orjson.dumps({"r": run_id, "n": name, "e": int(time.time()) + URL_LIFETIME_S})
        token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{self.base_url}/files/upload/{token}.{self._sign(payload)}"

    def target(self, token: str) -> Path:
        """The file a valid upload token may write; Invalid if the token is not ours or old."""
        try:
            encoded, signature = token.rsplit(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            data = orjson.loads(payload)
        except (ValueError, orjson.JSONDecodeError):
            raise Invalid("upload URL is malformed") from None
        if not hmac.compare_digest(signature, self._sign(payload)) or data["e"] < time.time():
            raise Invalid("upload URL is invalid or expired; ask createRunFiles for a new one")
        target: Path = self.directory / str(data["r"]) / str(data["n"])
        return target
