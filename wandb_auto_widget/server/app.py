"""The ASGI app: ``POST /graphql``, W&B's file_stream endpoint, and authentication."""

from __future__ import annotations

import base64
import contextlib
import functools
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, parse, validate
from graphql import execute as graphql_execute
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .bulk_history import columns_response
from .engine import Engine
from .errors import Invalid, ServerError
from .gql import Context, build_schema
from .ingest import file_stream
from .store import entities
from .store.db import Database
from .uploads import MAX_UPLOAD_BYTES, Uploads

log = logging.getLogger("wandb_auto_widget.server")

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
    too_big = bool(declared and declared.isdigit() and int(declared) > limit)
    chunks, size = [], 0
    if not too_big:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                too_big = True
                break
            chunks.append(chunk)
    if too_big:
        log.warning("%s %s rejected: body over %d bytes", request.method, request.url.path, limit)
        return _error(f"request body is larger than the {limit // (1024 * 1024)} MiB limit", 413)
    return b"".join(chunks)


def _format_error(error: GraphQLError) -> dict[str, Any]:
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


def create_app(db: Database, api_key: str, viewer: str, engine: Engine | None = None) -> Starlette:
    """The server app over ``db``, accepting ``api_key``; ``viewer`` is the local user's entity.

    The engine's delivery worker runs for the app's lifetime (the ASGI lifespan).
    """
    schema = build_schema()
    with db.write() as conn:
        entities.ensure_entity(conn, viewer)  # the local user's own entity always exists
    engine = engine or Engine(db)
    uploads = Uploads(Path(db.path).parent / "files")
    context = Context(db=db, viewer=viewer, engine=engine, uploads=uploads)

    @functools.lru_cache(maxsize=256)
    def prepare(query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        # Clients send the same few documents over and over: parse and validate each once.
        try:
            document = parse(query)
        except GraphQLError as error:
            return None, [error]
        return document, validate(schema, document)

    def execute(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        document, problems = prepare(payload["query"])
        if document is None or problems:
            return 400, {"errors": [_format_error(e) for e in problems], "data": None}
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return 400, {"errors": [{"message": "variables: must be a JSON object"}], "data": None}
        result = graphql_execute(
            schema,
            document,
            context_value=context,
            variable_values=variables,
            # wandb sends "" for pass-through queries: then run the document's only operation.
            operation_name=payload.get("operationName") or None,
        )
        if isinstance(result, Awaitable):  # pragma: no cover - every resolver is synchronous
            raise TypeError("async resolver in a synchronous schema")
        errors = list(result.errors or [])
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = [_format_error(e) for e in errors]
        if result.data is None and errors and not any(e.path for e in errors):
            return 400, body  # variable coercion and other request errors
        return _status(errors), body

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
                file_stream, db, engine, params["entity"], params["project"], params["run"], payload
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

    async def bulk_history(request: Request) -> Response:
        if not _authorized(request, api_key):
            return _error("invalid or missing API key", 401, "UNAUTHENTICATED")
        body = await _body(request, MAX_GRAPHQL_BYTES)
        if isinstance(body, Response):
            return body
        try:
            content = await run_in_threadpool(columns_response, db, orjson.loads(body))
        except orjson.JSONDecodeError:
            return _error("body: not JSON", 400)
        except ServerError as exc:
            return _error(exc.message, 400 if isinstance(exc, Invalid) else exc.status, exc.code)
        return Response(content, media_type="application/octet-stream")

    async def upload(request: Request) -> Response:
        # No Authorization header here (wandb sends none): the URL's signature is the credential.
        try:
            target = uploads.target(request.path_params["token"])
        except ServerError as exc:
            return _error(exc.message, 403, "FORBIDDEN")
        body = await _body(request, MAX_UPLOAD_BYTES)
        if isinstance(body, Response):
            return body
        try:
            await run_in_threadpool(uploads.store, target, body)
        except Invalid as exc:
            log.warning("upload to %s rejected: %s", target.path.name, exc.message)
            return _error(exc.message, 400)
        return Response(status_code=200)

    async def download(request: Request) -> Response:
        # Like uploads, a signed URL is the credential (wandb's downloader sends none).
        try:
            target = uploads.target(request.path_params["token"], download=True)
        except ServerError as exc:
            return _error(exc.message, 403, "FORBIDDEN")
        if not target.path.is_file():
            return _error("file not found", 404, "NOT_FOUND")
        return FileResponse(target.path, media_type="application/octet-stream")

    def set_base_url(url: str) -> None:
        engine.base_url = uploads.base_url = url

    async def health(_: Request) -> Response:
        return _json({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        engine.worker.start()
        try:
            yield
        finally:
            await run_in_threadpool(engine.worker.stop)

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/files/{entity}/{project}/{run}/file_stream", stream, methods=["POST"]),
            Route("/history/columns", bulk_history, methods=["POST"]),
            Route("/files/upload/{token}", upload, methods=["PUT"]),
            Route("/files/download/{token}", download, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
    )
    app.state.set_base_url = set_base_url
    return app
