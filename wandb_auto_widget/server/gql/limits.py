"""Bounds on the work one GraphQL request can ask for.

Checked in order: the document's size in tokens (while parsing), then its shape (depth,
fields and aliases, with fragments expanded), then, while it runs, the number of fields
resolved. The wandb SDK's own documents stay far inside every limit (the largest is 11
levels deep, 72 fields and about 250 tokens); errors name the limit and how to stay in it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from graphql.language import SelectionSetNode
from graphql.validation import ValidationContext, ValidationRule

from ..errors import Invalid

MAX_TOKENS = 10_000
MAX_DEPTH = 20
MAX_FIELDS = 2_000
MAX_ALIASES = 100
MAX_RESOLVED_FIELDS = 250_000
"""Fields resolved while executing one request (each object in each list counts)."""


def _selection_stats(
    selections: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    depth: int,
    expanding: frozenset[str],
) -> tuple[int, int, int]:
    """(deepest field level, fields, aliases) under ``selections``, fragments expanded.
    Stops early once a limit is passed, so a hostile document costs little to measure."""
    if selections is None:
        return depth, 0, 0
    deepest, fields, aliases = depth, 0, 0
    for node in selections.selections:
        if isinstance(node, FieldNode):
            sub = _selection_stats(node.selection_set, fragments, depth + 1, expanding)
            deepest = max(deepest, sub[0])
            fields += 1 + sub[1]
            aliases += sub[2] + (node.alias is not None)
        else:
            name = getattr(getattr(node, "name", None), "value", None)
            if name is None:  # an inline fragment
                inner = getattr(node, "selection_set", None)
            elif name in expanding or name not in fragments:
                continue  # a cycle or an unknown fragment: the standard rules report it
            else:
                inner = fragments[name].selection_set
                expanding = expanding | {name}
            sub = _selection_stats(inner, fragments, depth, expanding)
            deepest, fields, aliases = max(deepest, sub[0]), fields + sub[1], aliases + sub[2]
        if deepest > MAX_DEPTH or fields > MAX_FIELDS or aliases > MAX_ALIASES:
            break
    return deepest, fields, aliases


class ShapeLimits(ValidationRule):
    """Depth, field and alias limits of each operation, with its fragments expanded."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        depth, fields, aliases = _selection_stats(
            node.selection_set, self._fragments, 0, frozenset()
        )
        name = f"operation {node.name.value!r}" if node.name else "the operation"
        if depth > MAX_DEPTH:
            self._report(f"{name} is nested more than {MAX_DEPTH} fields deep", node)
        if fields > MAX_FIELDS:
            self._report(
                f"{name} selects more than {MAX_FIELDS} fields (fragments expanded); "
                "ask for fewer fields",
                node,
            )
        if aliases > MAX_ALIASES:
            self._report(f"{name} uses more than {MAX_ALIASES} aliases", node)

    def _report(self, message: str, node: OperationDefinitionNode) -> None:
        self.report_error(GraphQLError(f"query too large: {message}", node))


class DocumentCache:
    """Parsed and validated documents by query text, bounded by total bytes as well as by
    count: clients send the same few documents over and over, attackers send new ones."""

    def __init__(
        self,
        schema: GraphQLSchema,
        max_bytes: int = 16 << 20,
        max_entries: int = 512,
        max_entry_bytes: int = 256 << 10,
    ) -> None:
        self._schema = schema
        self._max_bytes, self._max_entries, self._max_entry = (
            max_bytes,
            max_entries,
            max_entry_bytes,
        )
        self._entries: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def prepare(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """The document and its validation errors (or None and the syntax error)."""
        with self._lock:
            found = self._entries.get(query)
            if found is not None:
                self._entries.move_to_end(query)
                return found
        prepared = self._prepare(query)
        size = len(query)
        if size <= self._max_entry:
            with self._lock:
                if query not in self._entries:
                    self._entries[query] = prepared
                    self._bytes += size
                while self._entries and (
                    self._bytes > self._max_bytes or len(self._entries) > self._max_entries
                ):
                    old, _ = self._entries.popitem(last=False)
                    self._bytes -= len(old)
        return prepared

    def _prepare(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as error:
            if "tokens" in error.message:
                error = GraphQLError(
                    f"query too large: more than {MAX_TOKENS} tokens; send a smaller document"
                )
            return None, [error]
        except RecursionError:
            return None, [GraphQLError("query too large: nested too deeply to parse")]
        return document, validate(
            self._schema, document, [*specified_rules, ShapeLimits], max_errors=20
        )


class ResolveBudget:
    """Execution middleware: fails the request once it has resolved too many fields, so a
    small query over a large graph (projects of entities of projects...) stays bounded."""

    def __init__(self, limit: int = MAX_RESOLVED_FIELDS) -> None:
        self.limit = limit
        self.used = 0

    def error(self) -> Invalid:
        return Invalid(
            f"query too large: it would resolve more than {self.limit} fields; "
            "ask for fewer objects (first:) or fewer fields"
        )

    def resolve(self, next_: Callable[..., Any], root: Any, info: Any, **args: Any) -> Any:
        self.used += 1
        if self.used > self.limit:
            raise self.error()  # every later field fails too: nothing more is resolved
        return next_(root, info, **args)
