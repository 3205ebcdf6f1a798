"""A run's files (``wandb.save``, media, ``output.log``...), as ``Run.files`` lists them.

The files themselves are the record: whatever was uploaded to ``files/<run id>/`` (through
the URLs ``createRunFiles`` hands out) or written there by file_stream. Each is listed with
W&B's fields, including its base64 MD5, which is computed once per content and kept in
memory (keyed by path, size and modification time).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..automations._regex import compile_regex
from .errors import Invalid


@dataclass(frozen=True)
class RunFile:
    name: str  # relative to the run's folder, with "/" between folders
    path: Path
    size: int
    updated_at: str
    mtime_ns: int

    @property
    def md5(self) -> str:
        return _md5(str(self.path), self.size, self.mtime_ns)

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


@functools.lru_cache(maxsize=4096)
def _md5(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


def _like(pattern: str) -> str:
    """MySQL's LIKE (``%`` any run of characters, ``_`` one character), as an RE2 pattern."""
    out = []
    for char in pattern:
        out.append(".*" if char == "%" else "." if char == "_" else "\\" + char)
    return "^" + "".join(out) + "$"


def list_run_files(
    folder: Path, names: list[str] | None = None, pattern: str | None = None
) -> list[RunFile]:
    """The run's files under ``folder``, by name; only ``names`` if given (W&B treats an
    empty list as "all"), or those matching the LIKE ``pattern``."""
    if names and pattern:
        raise Invalid("pattern: give either names or a pattern, not both")
    matcher = None
    if pattern:
        try:
            matcher = compile_regex(_like(pattern))
        except ValueError as exc:
            raise Invalid(f"pattern: {exc}") from None
    wanted = set(names or [])
    found = []
    for root, folders, files in os.walk(folder):
        folders.sort()
        for file in sorted(files):
            if file.startswith(".upload-"):  # an upload still being written
                continue
            path = Path(root) / file
            name = path.relative_to(folder).as_posix()
            if (wanted and name not in wanted) or (matcher and not matcher.search(name)):
                continue
            stat = path.stat()
            updated = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
            found.append(
                RunFile(
                    name,
                    path,
                    stat.st_size,
                    updated.strftime("%Y-%m-%dT%H:%M:%S"),
                    stat.st_mtime_ns,
                )
            )
    return sorted(found, key=lambda f: f.name)
