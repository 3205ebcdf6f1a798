"""HTTP for the client, sync and async: W&B's auth, one retry policy, and the one place where
everything that can go wrong on the wire becomes an error of ``errors.py``.

``Transport`` (on ``httpx.Client``) and ``AsyncTransport`` (on ``httpx.AsyncClient``) share
``_Wire``: the same settings, the same decision to retry (429, 5xx, timeouts and connection
failures, with exponential backoff, full jitter and ``Retry-After``), and the same
translation of answers and exceptions. Cancelling an async call cancels its request.
"""

from __future__ import annotations

import asyncio
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
_JSON = {"Content-Type": "application/json"}


def retry_delay(attempt: int, response: httpx.Response | None, base: float, cap: float) -> float:
    """Exponential backoff with full jitter, or the server's Retry-After when it gives one."""
    if response is not None and (header := response.headers.get("retry-after")):
        try:
            return min(cap, max(0.0, float(header)))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return min(cap, max(0.0, when.timestamp() - time.time()))
    return random.uniform(0, min(cap, base * 2**attempt))


def raise_for(response: httpx.Response) -> dict[str, Any]:
    """Decode a GraphQL (or other JSON) response, raising the typed error it describes."""
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


class _Wire:
    """What the sync and async transports share: settings, retries, and translation."""

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
        self.base_url, self._api_key, self._timeout = base_url, api_key, timeout
        self.max_retries, self.backoff, self.max_backoff = max_retries, backoff, max_backoff
        self.sent = 0  # requests sent, retries included

    def _client_args(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "auth": ("api", self._api_key) if self._api_key else None,
            "timeout": self._timeout,
            "headers": {"User-Agent": "wandb-auto-widget"},
        }

    def _attempt(
        self, path: str, attempt: int, response: httpx.Response | None, exc: Exception | None
    ) -> float | None:
        """After one attempt: None when ``response`` is the answer; else how long to wait
        before the next attempt. Raises the translated error when there is no next one."""
        if exc is None and response is not None and response.status_code not in RETRY_STATUSES:
            return None
        if exc is not None and not isinstance(exc, (httpx.TimeoutException, httpx.NetworkError)):
            # A URL that can never work, a protocol error...: retrying cannot help.
            raise TransportError(f"POST {self.base_url}{path}: {type(exc).__name__}: {exc}")
        problem = (
            f"{type(exc).__name__}: {exc}" if response is None else f"HTTP {response.status_code}"
        )
        if attempt == self.max_retries:
            raise TransportError(
                f"POST {self.base_url}{path} failed after {attempt + 1} attempts: {problem}"
            )
        delay = retry_delay(attempt, response, self.backoff, self.max_backoff)
        log.info("retrying %s in %.1fs (%s)", path, delay, problem)
        return delay


class Transport(_Wire):
    """A shared ``httpx.Client`` (thread-safe) with W&B's auth and the retry policy."""

    def __init__(self, base_url: str, api_key: str | None, **settings: Any) -> None:
        super().__init__(base_url, api_key, **settings)
        self.client = httpx.Client(
            **self._client_args(), transport=httpx.HTTPTransport(socket_options=NO_DELAY)
        )

    def post(self, path: str, body: Any) -> httpx.Response:
        """POST JSON, with retries; the final response (of any status), or TransportError."""
        content = orjson.dumps(body)
        for attempt in range(self.max_retries + 1):
            response, error = None, None
            self.sent += 1
            try:
                response = self.client.post(path, content=content, headers=_JSON)
            except httpx.HTTPError as exc:
                error = exc
            delay = self._attempt(path, attempt, response, error)
            if delay is None:
                assert response is not None
                return response
            time.sleep(delay)
        raise ApiError("unreachable")  # pragma: no cover

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL document; return its ``data``."""
        response = self.post("/graphql", {"query": query, "variables": variables or {}})
        data = raise_for(response).get("data")
        return data if isinstance(data, dict) else {}

    def async_twin(self) -> AsyncTransport:
        """An :class:`AsyncTransport` with the same server, key and settings."""
        return AsyncTransport(
            self.base_url,
            self._api_key,
            timeout=self._timeout,
            max_retries=self.max_retries,
            backoff=self.backoff,
            max_backoff=self.max_backoff,
        )

    def close(self) -> None:
        self.client.close()


class AsyncTransport(_Wire):
    """The async twin of :class:`Transport`, on ``httpx.AsyncClient``: the same settings,
    retries and errors. Use it as ``async with``."""

    def __init__(self, base_url: str, api_key: str | None, **settings: Any) -> None:
        super().__init__(base_url, api_key, **settings)
        self.client = httpx.AsyncClient(
            **self._client_args(), transport=httpx.AsyncHTTPTransport(socket_options=NO_DELAY)
        )

    async def post(self, path: str, body: Any) -> httpx.Response:
        content = orjson.dumps(body)
        for attempt in range(self.max_retries + 1):
            response, error = None, None
            try:
                response = await self.client.post(path, content=content, headers=_JSON)
            except httpx.HTTPError as exc:
                error = exc
            delay = self._attempt(path, attempt, response, error)
            if delay is None:
                assert response is not None
                return response
            await asyncio.sleep(delay)
        raise ApiError("unreachable")  # pragma: no cover

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post("/graphql", {"query": query, "variables": variables or {}})
        data = raise_for(response).get("data")
        return data if isinstance(data, dict) else {}

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
