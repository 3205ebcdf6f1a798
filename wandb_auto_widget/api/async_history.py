"""The async twin of ``Api.histories``: the same pages, fetched on ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from . import queries
from .history import Columns, page_specs, spec_json, to_columns
from .models import Run
from .transport import NO_DELAY, RETRY_STATUSES, raise_for, retry_delay

if TYPE_CHECKING:
    from .client import Api


async def fetch_histories(
    api: Api,
    runs: list[Run | str],
    keys: Sequence[str],
    concurrency: int,
    on_progress: Callable[[int, int], None] | None,
) -> dict[str, Columns]:
    transport = api._transport
    limit = asyncio.Semaphore(max(1, concurrency))
    done = 0
    async with httpx.AsyncClient(
        base_url=transport.base_url,
        auth=transport.client.auth,
        timeout=transport.client.timeout,
        transport=httpx.AsyncHTTPTransport(socket_options=NO_DELAY),
    ) as client:

        async def graphql(variables: dict[str, Any]) -> dict[str, Any]:
            body = orjson.dumps({"query": queries.HISTORY_PAGE, "variables": variables})
            for attempt in range(transport.max_retries + 1):
                response = await client.post(
                    "/graphql", content=body, headers={"Content-Type": "application/json"}
                )
                if response.status_code not in RETRY_STATUSES or attempt == transport.max_retries:
                    break
                await asyncio.sleep(
                    retry_delay(attempt, response, transport.backoff, transport.max_backoff)
                )
            return raise_for(response).get("data") or {}

        async def one(item: Run | str) -> tuple[str, Columns]:
            nonlocal done
            async with limit:
                if isinstance(item, Run) and item.history_keys is not None:
                    run = item
                else:
                    path = item if isinstance(item, str) else item.path
                    run = await asyncio.to_thread(api.run, path)
                pages = []
                if run.last_step is not None:
                    for spec in page_specs(keys, 0, run.last_step, 10_000):
                        data = await graphql(
                            {
                                "entity": run.entity,
                                "project": run.project,
                                "run": run.name,
                                "spec": spec_json(spec),
                            }
                        )
                        pages.append(data["project"]["run"]["sampledHistory"][0])
            done += 1
            if on_progress is not None:
                on_progress(done, len(runs))
            return run.path, to_columns(keys, pages)

        return dict(await asyncio.gather(*(one(item) for item in runs)))
