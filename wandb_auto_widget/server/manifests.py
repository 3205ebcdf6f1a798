"""Artifact manifests (``wandb_manifest.json``), read at commit time: the version's size and file
count come from it, and every file it lists must have been uploaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .errors import Invalid
from .uploads import Uploads


@dataclass(frozen=True)
class ManifestTotals:
    size: int
    file_count: int


def manifest_totals(uploads: Uploads, artifact_id: int) -> ManifestTotals:
    """Totals of the artifact's uploaded manifest (zero when none was uploaded, as for
    artifacts logged without files); Invalid when it is malformed or lists a missing file."""
    path = uploads.manifest_path(artifact_id)
    if not path.exists():
        return ManifestTotals(0, 0)
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        raise Invalid("manifest: the uploaded wandb_manifest.json is not JSON") from None
    contents = manifest.get("contents") if isinstance(manifest, dict) else None
    if not isinstance(contents, dict):
        raise Invalid("manifest: wandb_manifest.json has no 'contents' object")
    size = 0
    for name, entry in contents.items():
        size += _entry_size(name, entry)
        if (
            entry.get("ref") is None
            and not uploads.object_path(
                str(entry.get("digest")), f"manifest.contents[{name!r}].digest"
            ).exists()
        ):
            raise Invalid(
                f"manifest.contents[{name!r}]: its content was never uploaded; "
                "upload it to the URL createArtifactFiles returned, then commit"
            )
    return ManifestTotals(size, len(contents))


def _entry_size(name: str, entry: Any) -> int:
    if not isinstance(entry, dict):
        raise Invalid(f"manifest.contents[{name!r}]: must be an object")
    size = entry.get("size") or 0
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise Invalid(f"manifest.contents[{name!r}].size: must be a non-negative integer")
    return size
