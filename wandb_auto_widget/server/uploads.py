"""Uploads and downloads: wandb PUTs run files, artifact files and manifests to URLs we hand
out, and GETs artifact files back, without an Authorization header, so each URL carries its
own short-lived, signed credential.

Layout under the server's ``files`` directory:

* ``<run id>/<name>``: run files (``requirements.txt``, ``output.log``...);
* ``artifacts/objects/<md5 hex>``: artifact file contents, stored once per content;
* ``artifacts/manifests/<artifact id>.json``: each artifact version's manifest.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from .errors import Forbidden, Invalid, NotFound

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
URL_LIFETIME_S = 24 * 60 * 60
_SAFE = re.compile(r"^[\w.\-/ ]+$")
MAX_NAME = 1024
_HEX_MD5 = re.compile(r"^[0-9a-f]{32}$")
RESERVED = frozenset({"output.log", "wandb-history.jsonl", "wandb-summary.json"})
"""Run files the server writes itself: never folders."""


@dataclass(frozen=True)
class UploadTarget:
    """Where a valid upload goes, and the base64 MD5 its body must have (if one was declared)."""

    path: Path
    md5: str | None


def md5_hex(b64_md5: str, field: str) -> str:
    """W&B's base64 MD5 digest as hex (our object names); Invalid names ``field``."""
    try:
        raw = base64.b64decode(b64_md5, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise Invalid(f"{field}: {b64_md5!r} is not a base64 MD5 digest")
    return raw.hex()


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

    def _url(self, relative: str, md5: str | None = None, *, download: bool = False) -> str:
        # "k" keeps the two kinds apart: a download URL can never be used to write.
        claims: dict[str, object] = {
            "k": "get" if download else "put",
            "p": relative,
            "e": int(time.time()) + URL_LIFETIME_S,
        }
        if md5 is not None:
            claims["m"] = md5
        payload = orjson.dumps(claims)
        token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        route = "download" if download else "upload"
        return f"{self.base_url}/files/{route}/{token}.{self._sign(payload)}"

    def download_url(self, path: Path) -> str:
        """A signed, expiring URL that serves ``path`` (a file under ``directory``)."""
        return self._url(str(path.relative_to(self.directory)), download=True)

    def run_file_urls(self, run_id: int, names: list[str]) -> list[str]:
        """Upload URLs for a run's files, after checking that every name can be stored:
        a relative path inside the run's folder that is neither a folder nor inside a
        file, now or together with the other names."""
        wanted = set(names)
        for name in names:
            parts = name.split("/")
            if (
                not name
                or len(name) > MAX_NAME
                or not _SAFE.match(name)
                or any(part in ("", ".", "..") for part in parts)
            ):
                raise Invalid(
                    f"files: {name[:200]!r} is not a file name this server accepts; use a "
                    "relative path of letters, digits, '_', '-', '.' and spaces, with '/' "
                    "between folders and no '.' or '..' parts"
                )
            path = self.directory / str(run_id) / name
            if path.is_dir() or any(w.startswith(name + "/") for w in wanted):
                raise Invalid(f"files: {name!r} is a folder of this run's files, not a file")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                existing = self.directory / str(run_id) / folder
                if folder in wanted or folder in RESERVED or existing.is_file():
                    raise Invalid(f"files: {name!r} would put a file inside the file {folder!r}")
        return [self._url(f"{run_id}/{name}") for name in names]

    def object_path(self, b64_md5: str, field: str = "md5") -> Path:
        """Where the artifact file content with this digest is (or will be) stored."""
        return self.directory / "artifacts" / "objects" / md5_hex(b64_md5, field)

    def stored_object(self, hex_md5: str) -> Path:
        """The stored artifact content with this (hex) MD5; NotFound when there is none."""
        path = self.directory / "artifacts" / "objects" / hex_md5
        if not _HEX_MD5.match(hex_md5) or not path.is_file():
            raise NotFound("no stored artifact file has this digest")
        return path

    def object_url(self, b64_md5: str) -> str | None:
        """An upload URL for this content, or None when it is already stored (W&B's "skip")."""
        path = self.object_path(b64_md5)
        if path.exists():
            return None
        return self._url(str(path.relative_to(self.directory)), b64_md5)

    def manifest_path(self, artifact_id: int) -> Path:
        return self.directory / "artifacts" / "manifests" / f"{artifact_id}.json"

    def manifest_url(self, artifact_id: int, b64_md5: str) -> str:
        md5_hex(b64_md5, "digest")  # refuse a digest we could never verify
        return self._url(str(self.manifest_path(artifact_id).relative_to(self.directory)), b64_md5)

    def target(self, token: str, *, download: bool = False) -> UploadTarget:
        """The file a valid token may write (or, with ``download``, read); Forbidden if the
        token is not ours, is of the other kind, or has expired."""
        try:
            encoded, signature = token.rsplit(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            claims = orjson.loads(payload)
        except (ValueError, orjson.JSONDecodeError):
            raise Forbidden("URL is malformed; ask the server for a new one") from None
        # Bytes, not str: compare_digest refuses non-ASCII strings, and a URL may hold any.
        genuine = hmac.compare_digest(signature.encode(), self._sign(payload).encode())
        if (
            not genuine
            or not isinstance(claims, dict)
            or claims.get("k") != ("get" if download else "put")
            or not isinstance(claims.get("e"), int)
            or claims["e"] < time.time()
        ):
            raise Forbidden("URL is invalid or expired; ask the server for a new one")
        return UploadTarget(self.directory / str(claims["p"]), claims.get("m"))

    def store(self, target: UploadTarget, body: bytes) -> None:
        """Write ``body`` atomically (temp file + rename), so that a half-written upload is never
        taken for stored content; Invalid when it does not match the declared MD5."""
        if target.md5 is not None:
            actual = base64.b64encode(hashlib.md5(body).digest()).decode()
            if actual != target.md5:
                raise Invalid(
                    f"body: its MD5 is {actual}, but {target.md5} was declared for this URL; "
                    "upload the file that was declared"
                )
        try:
            target.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.path.parent, prefix=".upload-")
        except OSError as exc:  # a file where a folder should be: names were checked first
            raise Invalid(f"the file cannot be stored at this path: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(temp, target.path)
        except IsADirectoryError:
            Path(temp).unlink(missing_ok=True)
            raise Invalid("the file cannot be stored: a folder has its name") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
