"""Artifact manifests (``wandb_manifest.json``). Checked at commit time: the version's size
and file count come from it, and every file it lists must have been uploaded. Read again to
list a version's files for download."""

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


EMPTY_MANIFEST = {
    "version": 1,
    "storagePolicy": "wandb-storage-policy-v1",
    "storagePolicyConfig": {"storageLayout": "V2"},
    "contents": {},
}


def finalize_manifest(uploads: Uploads, artifact_id: int) -> ManifestTotals:
    """Check the artifact's uploaded manifest and total it; an artifact logged without files
    (as ``Api.log_artifact`` logs them) gets an empty one, so every version can be downloaded.
    Invalid when the manifest is malformed or lists content that was never uploaded."""
    path = uploads.manifest_path(artifact_id)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(EMPTY_MANIFEST))
    contents = manifest_contents(uploads, artifact_id)
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


def manifest_contents(uploads: Uploads, artifact_id: int) -> dict[str, Any]:
    """The ``contents`` of the artifact's manifest: file name -> entry (digest, size...)."""
    path = uploads.manifest_path(artifact_id)
    try:
        manifest = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except orjson.JSONDecodeError:
        raise Invalid("manifest: the uploaded wandb_manifest.json is not JSON") from None
    contents = manifest.get("contents") if isinstance(manifest, dict) else None
    if not isinstance(contents, dict):
        raise Invalid("manifest: wandb_manifest.json has no 'contents' object")
    return contents
