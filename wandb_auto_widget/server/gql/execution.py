"""Running one GraphQL request: the bounded document cache, execution with a resolve budget,
and W&B's way of reporting errors (HTTP 404/409 for a failed lookup or a taken name)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from graphql import GraphQLError, GraphQLSchema
from graphql import execute as graphql_execute

from ..errors import Invalid, ServerError
from .context import Context
from .limits import DocumentCache, ResolveBudget

log = logging.getLogger("wandb_auto_widget.server")

# The statuses W&B's clients read from a failed GraphQL request; other errors answer 200.
_HTTP_VISIBLE = frozenset({404, 409})


def format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = {"message": error.message}
    if error.locations:  # where in the document, for errors that name no field
        formatted["locations"] = [{"line": x.line, "column": x.column} for x in error.locations]
    if error.path:
        formatted["path"] = error.path
    original = error.original_error
    if isinstance(original, ServerError):
        formatted["extensions"] = {"code": original.code}
    elif original is not None and not isinstance(original, GraphQLError):
        # A bug, not bad input: log it, tell the client without internals.
        log.error("resolver failed", exc_info=original)
        formatted["message"] = "internal error; see the server log"
        formatted["extensions"] = {"code": "INTERNAL"}
    return formatted


def _status(errors: list[GraphQLError]) -> int:
    statuses = [
        e.original_error.status
        for e in errors
        if isinstance(e.original_error, ServerError) and e.original_error.status in _HTTP_VISIBLE
    ]
    return max(statuses, default=200)


class GraphQLExecutor:
    """Executes request payloads (``{"query", "variables", "operationName"}``) against the
    schema; returns the HTTP status and the response body."""

    def __init__(self, schema: GraphQLSchema, context: Context) -> None:
        self.schema, self.context = schema, context
        self.documents = DocumentCache(schema)

    def __call__(self, payload: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise Invalid("query: a GraphQL document string is required")
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise Invalid("variables: must be a JSON object")
        operation = payload.get("operationName")
        if operation is not None and not isinstance(operation, str):
            raise Invalid("operationName: must be a string")
        document, problems = self.documents.prepare(payload["query"])
        if document is None or problems:
            return 400, {"errors": [format_error(e) for e in problems], "data": None}
        budget = ResolveBudget()
        result = graphql_execute(
            self.schema,
            document,
            context_value=self.context,
            variable_values=variables,
            # wandb sends "" for pass-through queries: then run the document's only operation.
            operation_name=operation or None,
            middleware=[budget],
        )
        if isinstance(result, Awaitable):  # pragma: no cover - every resolver is synchronous
            raise TypeError("async resolver in a synchronous schema")
        if budget.used > budget.limit:  # one clear error, not one per unresolved field
            error = budget.error()
            return 400, {"errors": [{"message": error.message}], "data": None}
        errors = list(result.errors or [])
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = [format_error(e) for e in errors]
        if result.data is None and errors and not any(e.path for e in errors):
            return 400, body  # variable coercion and other request errors
        return _status(errors), body
