"""The ASGI app: ``POST /graphql``, W&B's file_stream endpoint, and authentication."""

from __future__ import annotations

import base64
import hmac
import logging
from typing import Any

import orjson
from ariadne import graphql_sync
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import Invalid, ServerError
from .gql import Context, build_schema
from .ingest import file_stream
from .store.db import Database

log = logging.getLogger("wandb_auto_widget.server")
# ariadne logs every GraphQL error with a traceback; expected errors (bad input, not found,
# conflicts) are answers, not failures. Unexpected ones are logged by _format_error.
_ariadne_log = logging.getLogger("wandb_auto_widget.server.graphql")
_ariadne_log.addFilter(lambda record: False)

MAX_GRAPHQL_BYTES = 8 * 1024 * 1024
MAX_FILE_STREAM_BYTES = 64 * 1024 * 1024


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error(message: str, status: int, code: str = "BAD_REQUEST") -> Response:
    return _json(
        {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}, status
    )


def _authorized(request: Request, api_key: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user == "api" and hmac.compare_digest(password, api_key)
    if scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.strip(), api_key)
    return False


async def _body(request: Request, limit: int) -> bytes | Response:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return _error(f"request body is larger than the {limit // (1024 * 1024)} MiB limit", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _error(
                f"request body is larger than the {limit // (1024 * 1024)} MiB limit", 413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.path:
        formatted["path"] = error.path
    original = error.original_error
    if isinstance(original, ServerError):
        formatted["extensions"] = {"code": original.code}
    elif original is not None and not isinstance(original, GraphQLError):
        # An unexpected failure: log it, tell the client without internals.
        log.exception("resolver failed", exc_info=original)
        formatted["message"] = "internal error; see the server log"
        formatted["extensions"] = {"code": "INTERNAL"}
    return formatted


def _status(errors: list[GraphQLError]) -> int:
    """W&B's clients read 404 and 409 from the HTTP status of a failed mutation."""
    statuses = [
        e.original_error.status for e in errors if isinstance(e.original_error, ServerError)
    ]
    return max(statuses, default=200)


def create_app(db: Database, api_key: str, viewer: str) -> Starlette:
    """The server app over ``db``, accepting ``api_key``; ``viewer`` is the local user's entity."""
    schema = build_schema()
    context = Context(db=db, viewer=viewer)

    def execute(payload: Any) -> tuple[int, dict[str, Any]]:
        errors: list[GraphQLError] = []

        def formatter(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
            errors.append(error)
            return _format_error(error, debug)

        if isinstance(payload, dict) and payload.get("operationName") == "":
            payload = {**payload, "operationName": None}  # wandb sends "" for pass-through queries
        success, result = graphql_sync(
            schema,
            payload,
            context_value=context,
            error_formatter=formatter,
            debug=False,
            logger=_ariadne_log,
        )
        if not success:
            return 400, result
        return _status(errors), result

    async def graphql(request: Request) -> Response:
        if not _authorized(request, api_key):
            return _error(
                "invalid or missing API key: send HTTP basic auth 'api:<key>'",
                401,
                "UNAUTHENTICATED",
            )
        body = await _body(request, MAX_GRAPHQL_BYTES)
        if isinstance(body, Response):
            return body
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error('body: not JSON; send {"query": ..., "variables": {...}}', 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _error("query: a GraphQL document string is required", 400)
        status, result = await run_in_threadpool(execute, payload)
        return _json(result, status)

    async def stream(request: Request) -> Response:
        if not _authorized(request, api_key):
            return _error("invalid or missing API key", 401, "UNAUTHENTICATED")
        body = await _body(request, MAX_FILE_STREAM_BYTES)
        if isinstance(body, Response):
            return body
        params = request.path_params
        try:
            payload = orjson.loads(body)
            result = await run_in_threadpool(
                file_stream, db, params["entity"], params["project"], params["run"], payload
            )
        except orjson.JSONDecodeError:
            return _error("body: not JSON", 400)
        except ServerError as exc:
            status = 400 if isinstance(exc, Invalid) else exc.status
            log.warning(
                "file_stream %s/%s/%s rejected: %s",
                params["entity"],
                params["project"],
                params["run"],
                exc.message,
            )
            return _error(exc.message, status, exc.code)
        return _json(result)

    async def health(_: Request) -> Response:
        return _json({"ok": True})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/files/{entity}/{project}/{run}/file_stream", stream, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
