"""Ingestion through W&B's file_stream endpoint: history lines, summary and run completion.

This is the one path by which history enters the store, whether it comes from this
package's Api or from the wandb SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._jsontext import INT64_MAX, INT64_MIN, JSONTextError, dumps, loads
from .engine import Engine
from .errors import Invalid, NotFound
from .store import entities, history, runs
from .store.db import Database

HISTORY, SUMMARY, OUTPUT = "wandb-history.jsonl", "wandb-summary.json", "output.log"


def file_stream(
    db: Database, engine: Engine, entity: str, project: str, run_name: str, body: Any
) -> dict[str, Any]:
    """Apply one file_stream POST; return the response W&B's clients expect."""
    if not isinstance(body, dict):
        raise Invalid('body: must be a JSON object like {"files": {...}}')
    files = body.get("files") or {}
    if not isinstance(files, dict):
        raise Invalid("files: must be an object keyed by file name")
    code = body.get("exitcode")
    # Checked before anything is written: output.log lives outside the transaction.
    if code is not None and (
        isinstance(code, bool) or not isinstance(code, int) or not INT64_MIN <= code <= INT64_MAX
    ):
        raise Invalid("exitcode: must be an integer (the process's exit status)")
    received_at = engine.now()  # the server clock, which stalled-run checks read too
    with db.write() as conn:
        proj = entities.find_project(conn, entity, project)
        run = None if proj is None else runs.get_run(conn, proj["id"], run_name)
        if run is None:
            raise NotFound(
                f"run {entity}/{project}/{run_name} not found; create it with upsertBucket"
            )
        assert proj is not None
        chunk = files.get(HISTORY)
        if chunk is not None:
            offset, content = _chunk(chunk, HISTORY)
            accepted = history.append_lines(conn, run, offset, content, received_at)
            engine.on_history(conn, proj, run, accepted)
        summary = files.get(SUMMARY)
        if summary is not None:
            _, content = _chunk(summary, SUMMARY)
            if content:
                try:
                    parsed = loads(content[-1])
                except JSONTextError:
                    raise Invalid(f"files.{SUMMARY}: not a JSON line") from None
                if not isinstance(parsed, dict):
                    raise Invalid(f"files.{SUMMARY}: must be a JSON object")
                runs.set_summary(conn, run["id"], dumps(parsed))
        output = files.get(OUTPUT)
        if output is not None:
            _, lines = _chunk(output, OUTPUT)
            # Console output is kept beside the database, one file per run.
            path = Path(db.path).parent / "files" / str(run["id"]) / OUTPUT
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8", errors="replace") as log_file:
                    log_file.writelines(f"{line}\n" for line in lines)
            except OSError as exc:  # the transaction rolls back: nothing of the batch lands
                raise Invalid(
                    f"files.{OUTPUT}: the console log cannot be written ({exc})"
                ) from None
        finishing = bool(body.get("complete"))
        updated = runs.heartbeat(conn, run, exit_code=code, finish=finishing)
        if finishing:
            engine.on_run_state(conn, proj, updated, run["state"], updated["state"])
    # Read after the engine ran: a StopRun automation that fired on this batch counts.
    return {"stopped": True} if updated["stop_requested"] else {"exitcode": None, "limits": {}}


def _chunk(chunk: Any, name: str) -> tuple[int, list[str]]:
    if not isinstance(chunk, dict):
        raise Invalid(f'files.{name}: must be {{"offset": n, "content": [lines]}}')
    offset, content = chunk.get("offset", 0), chunk.get("content", [])
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise Invalid(f"files.{name}.offset: must be an integer >= 0")
    if not isinstance(content, list) or not all(isinstance(line, str) for line in content):
        raise Invalid(f"files.{name}.content: must be a list of JSON strings, one per line")
    return offset, content
