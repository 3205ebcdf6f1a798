"""The ASGI app: W&B's routes (``/graphql``, file_stream, signed uploads and downloads), ours
(``/history/columns``), one authentication path, and one mapping of errors to responses.

Every endpoint reads its request, hands the work to a thread (SQLite is synchronous) and
returns JSON. Errors are raised, never returned: ``ServerError`` subclasses carry their
HTTP status and become ``{"errors": [...]}`` in :func:`_server_error`; anything else is a
bug, logged with its traceback and answered with a 500 that reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from .bulk_history import columns_response
from .engine import Engine
from .errors import Invalid, NotFound, ServerError, TooLarge, Unauthorized
from .gql import Context, build_schema
from .gql.context import FEATURES, WANDB_FEATURES
from .gql.execution import GraphQLExecutor
from .ingest import file_stream as ingest_file_stream
from .store import entities
from .store.db import Database
from .uploads import MAX_UPLOAD_BYTES, Uploads

log = logging.getLogger("wandb_auto_widget.server")

MAX_GRAPHQL_BYTES = 8 * 1024 * 1024
MAX_FILE_STREAM_BYTES = 64 * 1024 * 1024


@dataclass
class ServerState:
    """What the endpoints share, kept on ``app.state.server``."""

    db: Database
    api_key: str
    engine: Engine
    uploads: Uploads
    graphql: GraphQLExecutor
    wandb_only: bool = False


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}


def authenticate(request: Request) -> None:
    """W&B's credentials: HTTP basic ``api:<key>`` (what wandb sends) or ``Bearer <key>``.

    Compared as bytes in constant time; a header in any encoding is simply not the key.
    """
    expected = _state(request).api_key.encode()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    given: bytes | None = None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(credentials, validate=True).partition(b":")
        except (ValueError, binascii.Error):
            user, password = b"", b""
        given = password if user == b"api" else None
    elif scheme.lower() == "bearer":
        given = credentials.strip().encode("latin-1")  # the header's bytes, as received
    if given is None or not hmac.compare_digest(given, expected):
        raise Unauthorized("invalid or missing API key: send HTTP basic auth 'api:<key>'")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to pass ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is larger than the {limit // (1024 * 1024)} MiB limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is larger than the {limit // (1024 * 1024)} MiB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes, hint: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Invalid(f"body: not JSON; send {hint}") from None


async def graphql(request: Request) -> Response:
    authenticate(request)
    payload = parse_json(
        await read_body(request, MAX_GRAPHQL_BYTES), '{"query": ..., "variables": {...}}'
    )
    status, result = await run_in_threadpool(_state(request).graphql, payload)
    return _json(result, status)


async def file_stream(request: Request) -> Response:
    authenticate(request)
    payload = parse_json(await read_body(request, MAX_FILE_STREAM_BYTES), '{"files": {...}}')
    state, params = _state(request), request.path_params
    result = await run_in_threadpool(
        ingest_file_stream,
        state.db,
        state.engine,
        params["entity"],
        params["project"],
        params["run"],
        payload,
    )
    return _json(result)


async def history_columns(request: Request) -> Response:
    authenticate(request)
    if _state(request).wandb_only:
        raise HTTPException(404, "Not Found")  # W&B has no such endpoint
    payload = parse_json(await read_body(request, MAX_GRAPHQL_BYTES), '{"runs": [...], ...}')
    content = await run_in_threadpool(columns_response, _state(request).db, payload)
    return Response(content, media_type="application/octet-stream")


async def upload(request: Request) -> Response:
    # No Authorization header here (wandb sends none): the URL's signature is the credential.
    uploads = _state(request).uploads
    target = uploads.target(request.path_params["token"])
    body = await read_body(request, MAX_UPLOAD_BYTES)
    await run_in_threadpool(uploads.store, target, body)
    return Response(status_code=200)


async def download(request: Request) -> Response:
    # Like uploads, a signed URL is the credential (wandb's downloader sends none).
    target = _state(request).uploads.target(request.path_params["token"], download=True)
    if not target.path.is_file():
        raise NotFound("file not found")
    return FileResponse(target.path, media_type="application/octet-stream")


async def artifact_file(request: Request) -> Response:
    """W&B's own download route for artifact files, which wandb falls back to when it holds
    no signed URL for a file (``artifact.file()``, ``get_entry(...).download()``):
    ``/artifactsV2/<region>/<entity>/<project>/<collection>/[<id>/]<birth id>/<md5>/<name>``
    or ``/artifacts/<entity>/<md5>``, with the API key. Content is stored by its MD5."""
    authenticate(request)
    parts = request.path_params["rest"].split("/")
    hex_md5 = parts[-2] if request.url.path.startswith("/artifactsV2/") else parts[-1]
    if len(parts) < 2 and request.url.path.startswith("/artifactsV2/"):
        raise NotFound("not an artifact file URL")
    path = _state(request).uploads.stored_object(hex_md5)
    return FileResponse(path, media_type="application/octet-stream")


async def health(_: Request) -> Response:
    return _json({"ok": True})


def _shown_path(request: Request) -> str:
    """The path for logs and messages: a signed URL is a credential, so its token is hidden."""
    path = request.url.path
    if path.startswith(("/files/upload/", "/files/download/")):
        return path.rsplit("/", 1)[0] + "/<signed>"
    return path


async def _server_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServerError)
    if request.url.path != "/graphql" or exc.status == 401:
        # Clients of these routes (the wandb SDK) often log nothing: the server does.
        log.warning("%s %s rejected: %s", request.method, _shown_path(request), exc.message)
    return _json(_error_body(exc.message, exc.code), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own answers (no such route, wrong method) in the same JSON shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    message = f"{request.method} {_shown_path(request)}: {exc.detail}"
    return _json(_error_body(message, code), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _json(_error_body("internal error; see the server log", "INTERNAL"), 500)


ROUTES = [
    Route("/graphql", graphql, methods=["POST"]),
    Route("/files/{entity}/{project}/{run}/file_stream", file_stream, methods=["POST"]),
    Route("/history/columns", history_columns, methods=["POST"]),
    Route("/files/upload/{token}", upload, methods=["PUT"]),
    Route("/files/download/{token}", download, methods=["GET"]),
    Route("/artifactsV2/{region}/{entity}/{project}/{rest:path}", artifact_file, methods=["GET"]),
    Route("/artifacts/{entity}/{rest:path}", artifact_file, methods=["GET"]),
    Route("/healthz", health, methods=["GET"]),
]


def create_app(
    db: Database,
    api_key: str,
    viewer: str,
    engine: Engine | None = None,
    *,
    wandb_only: bool = False,
) -> Starlette:
    """The server app over ``db``, accepting ``api_key``; ``viewer`` is the local user's entity.

    The engine's delivery worker runs for the app's lifetime (the ASGI lifespan).
    ``wandb_only`` advertises only W&B's features and refuses our additions' endpoints, so
    that it stands in for W&B: a client then speaks to it as it speaks to W&B.
    """
    with db.write() as conn:
        entities.ensure_entity(conn, viewer)  # the local user's own entity always exists
    engine = engine or Engine(db)
    engine.set_viewer(viewer)
    uploads = Uploads(Path(db.path).parent / "files")
    features = WANDB_FEATURES if wandb_only else FEATURES
    context = Context(db=db, viewer=viewer, engine=engine, uploads=uploads, features=features)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        engine.worker.start()
        engine.ticker.start()
        try:
            yield
        finally:
            await run_in_threadpool(engine.ticker.stop)
            await run_in_threadpool(engine.worker.stop)

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            ServerError: _server_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.server = ServerState(
        db, api_key, engine, uploads, GraphQLExecutor(build_schema(), context), wandb_only
    )

    def set_base_url(url: str) -> None:
        engine.base_url = uploads.base_url = url

    app.state.set_base_url = set_base_url
    return app
