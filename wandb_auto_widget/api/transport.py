"""HTTP for the client: GraphQL POSTs and file_stream, with retries and typed errors."""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from typing import Any

import httpx
import orjson

from .._jsontext import JSONTextError, loads
from .errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    TransportError,
    ValidationError,
)

log = logging.getLogger("wandb_auto_widget.api")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# httpx writes a request's headers and body separately; without TCP_NODELAY, Nagle's
# algorithm holds the body until the server's delayed ACK, adding ~40 ms to every call.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def retry_delay(attempt: int, response: httpx.Response | None, base: float, cap: float) -> float:
    """Exponential backoff with full jitter, or the server's Retry-After when it gives one."""
    if response is not None and (header := response.headers.get("retry-after")):
        try:
            return min(cap, max(0.0, float(header)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(header)
            if when is not None:
                return min(cap, max(0.0, when.timestamp() - time.time()))
    return random.uniform(0, min(cap, base * 2**attempt))


def raise_for(response: httpx.Response) -> dict[str, Any]:
    """Decode a GraphQL response, raising the typed error it describes."""
    try:
        # Lenient: history and summaries carry NaN and Infinity as bare tokens.
        body = loads(response.content) if response.content else {}
    except JSONTextError:
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    message = (errors[0].get("message") if errors else None) or response.reason_phrase
    status = response.status_code
    if status == 401:
        raise AuthenticationError(f"the server rejected the API key: {message}")
    if status == 404:
        raise NotFoundError(message)
    if status == 409:
        raise ConflictError(message)
    if status >= 400:
        raise ValidationError(f"HTTP {status}: {message}")
    if errors:
        code = str((errors[0].get("extensions") or {}).get("code"))
        raise {"NOT_FOUND": NotFoundError, "CONFLICT": ConflictError}.get(code, ValidationError)(
            message
        )
    return body if isinstance(body, dict) else {}


class Transport:
    """A shared ``httpx.Client`` (thread-safe) with W&B's auth and our retry policy."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.client = httpx.Client(
            base_url=base_url,
            auth=("api", api_key) if api_key else None,
            timeout=timeout,
            headers={"User-Agent": "wandb-auto-widget"},
            transport=httpx.HTTPTransport(socket_options=NO_DELAY),
        )

    def post(self, path: str, body: Any) -> httpx.Response:
        content = orjson.dumps(body)
        headers = {"Content-Type": "application/json"}
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = self.client.post(path, content=content, headers=headers)
                if response.status_code not in RETRY_STATUSES:
                    return response
                problem = f"HTTP {response.status_code}"
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == self.max_retries:
                raise TransportError(
                    f"POST {self.base_url}{path} failed after {attempt + 1} attempts: {problem}"
                )
            delay = retry_delay(attempt, response, self.backoff, self.max_backoff)
            log.info("retrying %s in %.1fs (%s)", path, delay, problem)
            time.sleep(delay)
        raise ApiError("unreachable")  # pragma: no cover

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL document; return its ``data``."""
        response = self.post("/graphql", {"query": query, "variables": variables or {}})
        data = raise_for(response).get("data")
        return data if isinstance(data, dict) else {}

    def close(self) -> None:
        self.client.close()
