"""The async twin of ``Api.histories``: the same requests (the embedded server's bulk
endpoint, or W&B's ``sampledHistory`` pages), on :class:`~.transport.AsyncTransport`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from . import queries
from .errors import NotFoundError
from .history import (
    Columns,
    bulk_jobs,
    bulk_request,
    page_specs,
    parse_bulk_columns,
    spec_json,
    to_columns,
)
from .transport import AsyncTransport, raise_for


async def fetch_histories(
    transport: AsyncTransport,
    paths: list[str],
    keys: Sequence[str],
    *,
    bulk: bool,
    window: tuple[int | None, int | None],
    concurrency: int,
    batch_runs: int,
    on_progress: Callable[[int, int], None] | None,
) -> dict[str, Columns]:
    """Full-resolution history of ``keys`` for each run path, ``concurrency`` requests at a
    time; ``on_progress(done, total)`` as runs complete."""
    limit = asyncio.Semaphore(max(1, concurrency))
    done = 0
    min_step, max_step = window

    async def bulk_job(project_path: str, names: list[str]) -> dict[str, Columns]:
        body = bulk_request(project_path, names, keys, min_step, max_step)
        response = await transport.post("/history/columns", body)
        if response.status_code != 200:
            raise_for(response)
        found = parse_bulk_columns(response.content)
        return {f"{project_path}/{n}": c for n, c in found.items() if c is not None}

    async def paged_job(path: str) -> dict[str, Columns]:
        entity, project, name = path.split("/")
        variables = {"entity": entity, "project": project, "name": name}
        data = await transport.graphql(queries.RUN, variables)
        run = (data.get("project") or {}).get("run")
        if not run:
            raise NotFoundError(f"run {path} not found")
        last = (run.get("historyKeys") or {}).get("lastStep")
        pages: list[list[dict[str, Any]]] = []
        if last is not None:
            last = last if max_step is None else min(last, max_step)
            first = 0 if min_step is None else min_step
            for spec in page_specs(keys, first, last, 10_000):
                page = await transport.graphql(
                    queries.HISTORY_PAGE,
                    {"entity": entity, "project": project, "run": name, "spec": spec_json(spec)},
                )
                pages.append(page["project"]["run"]["sampledHistory"][0])
        return {path: to_columns(keys, pages)}

    async def run(job: tuple[str, list[str]]) -> dict[str, Columns]:
        nonlocal done
        project_path, names = job
        async with limit:
            found = await (bulk_job(project_path, names) if project_path else paged_job(names[0]))
        done += len(names)
        if on_progress is not None:
            on_progress(done, len(paths))
        return found

    jobs = bulk_jobs(paths, batch_runs) if bulk else [("", [p]) for p in paths]
    results: dict[str, Columns] = {}
    for found in await asyncio.gather(*(run(job) for job in jobs)):
        results.update(found)
    return results
