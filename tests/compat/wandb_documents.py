"""The GraphQL the wandb SDK itself sends to W&B, as a set of shapes to hold our Api to.

Collected from the installed wandb: its Python sources (the public API's documents and the
generated operations) and the documents embedded in the wandb-core binary. A document is
reduced to *shapes*:

* ``("field", path)``: a selected field, as a path of field names from the root type
  (fragments inlined, aliases and type conditions ignored);
* ``("arg", path, name)``: an argument of that field, with ``input.x`` for the fields of an
  object literal (``upsertBucket(input: {id: $id})`` gives ``input`` and ``input.id``);
* ``("var", path, name, type)``: an argument bound to a variable of that GraphQL type.

Input objects passed as variables are checked field by field against wandb's generated
input types (``_generated/input_types.py``), by :func:`input_fields`.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import wandb
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
)

WANDB = Path(wandb.__file__).parent
Shape = tuple[Any, ...]


def _balanced(text: str, start: int) -> str | None:
    depth, seen = 0, False
    for i in range(start, min(len(text), start + 200_000)):
        if text[i] == "{":
            depth, seen = depth + 1, True
        elif text[i] == "}":
            depth -= 1
            if seen and depth == 0:
                return text[start : i + 1]
    return None


def _python_documents() -> Iterator[DocumentNode]:
    for source in WANDB.rglob("*.py"):
        text = source.read_text(errors="replace")
        # A template's "...{name}" spreads a fragment chosen at run time: any of the file's.
        spreads = " ".join(f"...{n}" for n in re.findall(r"fragment (\w+) on ", text))
        for match in re.finditer(r'(?s)("""|\'\'\')(.*?)\1', text):
            body = match.group(2).replace("#graphql", "")
            if not re.search(r"^\s*(query|mutation|fragment)\b", body, re.M):
                continue
            if "{{" in body:  # an f-string or str.format template: fill its holes
                body = re.sub(r"\.\.\.\{\w*\}", spreads, body)
                body = re.sub(r"\{[a-zA-Z_]*\}", "", body).replace("{{", "{").replace("}}", "}")
            try:
                yield parse(body)
            except GraphQLError:
                continue


def _core_documents() -> Iterator[DocumentNode]:
    binary = (WANDB / "bin" / "wandb-core").read_bytes().decode("latin-1")
    for match in re.finditer(r"(?:query|mutation) [A-Za-z_]\w* ?[({]", binary):
        operation = _balanced(binary, match.start())
        if operation is None:
            continue
        end = match.start() + len(operation)
        parts = [operation]
        while fragment := re.match(r"\s*fragment [A-Za-z_]\w* on \w+ ?\{", binary[end : end + 300]):
            body = _balanced(binary, end + fragment.start())
            if body is None:
                break
            parts.append(body)
            end = binary.index(body, end) + len(body)
        try:
            yield parse("\n".join(parts))
        except GraphQLError:
            continue


def _literal_args(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    yield prefix, value
    if isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield from _literal_args(f"{prefix}.{field.name.value}", field.value)


def _walk(
    selections: SelectionSetNode | None,
    path: tuple[str, ...],
    seen: frozenset[str],
    fragments: dict[str, list[FragmentDefinitionNode]],
    variables: dict[str, str],
    found: set[Shape],
) -> None:
    if selections is None:
        return
    for node in selections.selections:
        if isinstance(node, FieldNode):
            here = (*path, node.name.value)
            found.add(("field", here))
            for argument in node.arguments or ():
                for name, value in _literal_args(argument.name.value, argument.value):
                    found.add(("arg", here, name))
                    if isinstance(value, VariableNode):
                        found.add(("var", here, name, variables.get(value.name.value)))
            _walk(node.selection_set, here, seen, fragments, variables, found)
        elif hasattr(node, "type_condition"):  # an inline fragment
            _walk(node.selection_set, path, seen, fragments, variables, found)
        elif node.name.value not in seen:
            for fragment in fragments.get(node.name.value, ()):
                inner = seen | {node.name.value}
                _walk(fragment.selection_set, path, inner, fragments, variables, found)


def shapes(
    document: DocumentNode, shared: dict[str, list[FragmentDefinitionNode]] | None = None
) -> set[Shape]:
    """The shapes of every operation in ``document``. A fragment it spreads but does not
    define is looked up in ``shared`` (wandb splices some fragments in at run time)."""
    fragments: dict[str, list[FragmentDefinitionNode]] = dict(shared or {})
    for d in document.definitions:
        if isinstance(d, FragmentDefinitionNode):
            fragments[d.name.value] = [d]
    found: set[Shape] = set()
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            variables = {
                v.variable.name.value: print_ast(v.type)
                for v in operation.variable_definitions or ()
            }
            root = (operation.operation.value.capitalize(),)
            _walk(operation.selection_set, root, frozenset(), fragments, variables, found)
    return found


@functools.cache
def wandb_shapes() -> frozenset[Shape]:
    """The union of the shapes of every document wandb sends."""
    documents = [*_python_documents(), *_core_documents()]
    shared: dict[str, list[FragmentDefinitionNode]] = {}
    for document in documents:
        for d in document.definitions:
            if isinstance(d, FragmentDefinitionNode):
                shared.setdefault(d.name.value, []).append(d)
    union: set[Shape] = set()
    for document in documents:
        union |= shapes(document, shared)
    return frozenset(union)


@functools.cache
def input_fields() -> dict[str, dict[str, str | None]]:
    """wandb's generated input types: type name -> {field name: its input type, if it is one}."""
    types: dict[str, dict[str, str | None]] = {}
    for source in WANDB.rglob("_generated/input_types.py"):
        tree = ast.parse(source.read_text())
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            fields = types.setdefault(node.name, {})
            for item in node.body:
                if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
                    continue
                name = item.target.id
                if isinstance(item.value, ast.Call):
                    for keyword in item.value.keywords:
                        if keyword.arg == "alias" and isinstance(keyword.value, ast.Constant):
                            name = str(keyword.value.value)
                nested = re.findall(r"\b([A-Z]\w*Input)\b", ast.unparse(item.annotation))
                fields[name] = nested[0] if nested else None
    return types
