"""MongoDB-style filter expressions, as W&B uses them for run and artifact filters.

``RunEvent.name.contains("bert")`` builds a :class:`FilterExpr`; ``&`` and ``|``
combine expressions into :class:`And` and :class:`Or`. The wire form is the
Mongo dict, e.g. ``{"display_name": {"$contains": "bert"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, ClassVar, TypeAlias

from pydantic import (
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_serializer,
    model_validator,
)

from ._base import WireModel
from ._regex import compile_regex

Scalar = StrictStr | StrictInt | StrictFloat | StrictBool

FIELD_NAME = re.compile(r"\A[a-zA-Z_]\w*\Z", flags=re.ASCII)
"""Field names W&B accepts in filters."""


class _Logic:
    """``&``, ``|`` and ``~`` for filter expressions."""

    def __and__(self, other: Any) -> Any:
        if isinstance(other, (BaseOp, FilterExpr)):
            return And(exprs=(self, other))
        return NotImplemented

    def __or__(self, other: Any) -> Or:
        return Or(exprs=(self, other))

    def __invert__(self) -> Any:
        return Not(expr=self)


class BaseOp(WireModel, _Logic):
    """One Mongo operator, serialized as ``{"$key": value}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: ClassVar[str]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(v) for _, v in self)})"


class _Variadic(BaseOp):
    exprs: tuple[LogicalChild, ...]

    @classmethod
    def wrap(cls, expr: Any) -> Any:
        """Return ``expr`` itself if it is already this operator, else wrap it."""
        return expr if isinstance(expr, cls) else cls(exprs=(expr,))


class And(_Variadic):
    key = "$and"
    exprs: tuple[LogicalChild, ...] = Field(default=(), alias="$and")


class Or(_Variadic):
    key = "$or"
    exprs: tuple[LogicalChild, ...] = Field(default=(), alias="$or")


class Nor(_Variadic):
    key = "$nor"
    exprs: tuple[LogicalChild, ...] = Field(default=(), alias="$nor")


class Not(BaseOp):
    key = "$not"
    expr: LogicalChild = Field(alias="$not")

    def __invert__(self) -> Any:
        return self.expr


class Lt(BaseOp):
    key = "$lt"
    val: Scalar = Field(alias="$lt")


class Gt(BaseOp):
    key = "$gt"
    val: Scalar = Field(alias="$gt")


class Lte(BaseOp):
    key = "$lte"
    val: Scalar = Field(alias="$lte")


class Gte(BaseOp):
    key = "$gte"
    val: Scalar = Field(alias="$gte")


class Eq(BaseOp):
    key = "$eq"
    val: Scalar | tuple[Scalar, ...] = Field(alias="$eq")


class Ne(BaseOp):
    key = "$ne"
    val: Scalar | tuple[Scalar, ...] = Field(alias="$ne")


class In(BaseOp):
    key = "$in"
    val: tuple[Scalar, ...] = Field(default=(), alias="$in")


class NotIn(BaseOp):
    key = "$nin"
    val: tuple[Scalar, ...] = Field(default=(), alias="$nin")


class Exists(BaseOp):
    key = "$exists"
    val: StrictBool = Field(alias="$exists")


class Regex(BaseOp):
    key = "$regex"
    val: str = Field(alias="$regex")

    @field_validator("val")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        compile_regex(pattern)  # ValueError names what is wrong with it
        return pattern


class Contains(BaseOp):
    key = "$contains"
    val: str = Field(alias="$contains")


Op: TypeAlias = (
    And | Or | Nor | Not | Lt | Gt | Lte | Gte | Eq | Ne | In | NotIn | Exists | Regex | Contains
)
OPS_BY_KEY: dict[str, type[BaseOp]] = {
    cls.key: cls
    for cls in (And, Or, Nor, Not, Lt, Gt, Lte, Gte, Eq, Ne, In, NotIn, Exists, Regex, Contains)
}
_INVERSE: dict[type[BaseOp], type[BaseOp]] = {
    Lt: Gte,
    Gte: Lt,
    Gt: Lte,
    Lte: Gt,
    Eq: Ne,
    Ne: Eq,
    In: NotIn,
    NotIn: In,
}


def _parse_operator(raw: Any) -> Any:
    """A field's operator, validated as the operator its key names (so ``{"$in": 5}`` is an
    error, not an opaque dict); operators this model does not know stay dicts."""
    if isinstance(raw, BaseOp):
        return raw
    if isinstance(raw, dict):
        if len(raw) == 1 and (op_cls := OPS_BY_KEY.get(next(iter(raw)))):
            return op_cls.model_validate(raw)
        return raw
    raise ValueError(f"expected an operator like {{'$eq': value}}, got {raw!r:.80}")


class FilterExpr(WireModel, _Logic):
    """A condition on one field, e.g. ``{"display_name": {"$contains": "x"}}``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    field: str
    op: Annotated[Op | dict[str, Any], PlainValidator(_parse_operator)]

    @model_validator(mode="before")
    @classmethod
    def _from_mongo(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) == 1 and not next(iter(data)).startswith("$"):
            ((field, op),) = data.items()
            return {"field": field, "op": op if isinstance(op, (dict, BaseOp)) else {"$eq": op}}
        return data

    @model_serializer(mode="plain")
    def _to_mongo(self) -> dict[str, Any]:
        op = self.op.model_dump() if isinstance(self.op, BaseOp) else self.op
        return {self.field: op}

    def __repr__(self) -> str:
        return f"FilterExpr({self.field}: {self.op!r})"


MAX_FILTER_DEPTH = 32
"""Objects nested in one filter, at most (W&B's own wrappers take two or three)."""
MAX_FILTER_NODES = 2000
"""Objects, array items and values in one filter, at most."""


def check_filter_size(raw: Any) -> None:
    """ValueError when a filter document is nested or sized beyond the limits. Runs before
    parsing, and stops as soon as a limit is passed, so it is cheap on any input."""
    stack: list[tuple[Any, int]] = [(raw, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_FILTER_NODES:
            raise ValueError(
                f"filter has more than {MAX_FILTER_NODES} parts; split it or simplify it"
            )
        if isinstance(value, dict):
            if depth > MAX_FILTER_DEPTH:
                raise ValueError(
                    f"filter is nested more than {MAX_FILTER_DEPTH} levels deep; flatten it "
                    '(one {"$and": [...]} can hold every condition)'
                )
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth) for v in value)


def parse_filter(raw: Any) -> Any:
    """Parse a Mongo-style dict; unknown ``$`` operators stay as opaque dicts.

    Linear in the document: each object is parsed once, by its key (never by trying every
    kind of expression in turn). ValueError when it is larger than the limits above.
    """
    if not isinstance(raw, dict) or not raw:
        return raw
    check_filter_size(raw)
    if len(raw) > 1:  # several root predicates mean "all of them"
        return And(exprs=tuple(parse_filter({k: v}) for k, v in raw.items()))
    ((key, _),) = raw.items()
    if op_cls := OPS_BY_KEY.get(key):
        return op_cls.model_validate(raw)
    if key.startswith("$"):
        return raw
    return FilterExpr.model_validate(raw)


def _parse_expression(raw: Any) -> Any:
    """A filter expression given as a model or as its Mongo dict."""
    if isinstance(raw, (BaseOp, FilterExpr)):
        return raw
    if isinstance(raw, dict):
        return parse_filter(raw)
    raise ValueError(
        f"expected a filter expression like {{'display_name': {{'$eq': 'x'}}}}, got {raw!r:.80}"
    )


# Validated by key with parse_filter (a plain validator): a union would try each kind of
# expression in turn at every level, exponential in the nesting depth.
LogicalChild: TypeAlias = Annotated[
    "FilterExpr | Op | dict[str, Any]", PlainValidator(_parse_expression)
]
MongoLikeFilter: TypeAlias = Annotated[
    Op | FilterExpr | dict[str, Any], PlainValidator(_parse_expression)
]

for _model in (And, Or, Nor, Not):
    _model.model_rebuild()


def simplify(expr: Any) -> Any:
    """Flatten nested ``And``/``Or``/``Nor`` and unwrap single children, as wandb does."""
    if isinstance(expr, (And, Or, Nor)):
        cls = type(expr)
        children = [simplify(child) for child in _flatten(expr, cls)]
        return children[0] if len(children) == 1 else cls(exprs=tuple(children))
    if isinstance(expr, Not):
        inner = expr.expr
        if isinstance(inner, Not):
            return simplify(inner.expr)
        if isinstance(inner, Or):
            return simplify(Nor(exprs=inner.exprs))
        if isinstance(inner, Nor):
            return simplify(Or(exprs=inner.exprs))
        if isinstance(inner, Exists):
            return Exists(val=not inner.val)
        inverse = _INVERSE.get(type(inner)) if isinstance(inner, BaseOp) else None
        if inverse is not None:
            return inverse.model_validate({"val": dict(inner)["val"]})
        return Not(expr=simplify(inner))
    return expr


def _flatten(op: And | Or | Nor, cls: type[BaseOp]) -> Iterator[Any]:
    for child in op.exprs:
        if type(child) is cls:
            yield from _flatten(child, cls)  # type: ignore[arg-type]
        else:
            yield child


def wrap_run_filter(expr: Any) -> Any:
    """Run filters are always a top-level ``$and`` (a W&B backend constraint)."""
    return And.wrap(simplify(expr))


def wrap_mutation_filter(expr: Any) -> Any:
    """Artifact-event filters are always ``{"$or": [{"$and": [...]}]}`` (W&B's app expects it)."""
    return Or.wrap(And.wrap(simplify(expr)))


class FilterableField:
    """A field of an event that filters can be built on, e.g. ``RunEvent.name``."""

    def __init__(self, server_name: str | None = None) -> None:
        self._server_name = server_name
        self._python_name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._python_name = name

    @property
    def field(self) -> str:
        """The name the server filters on."""
        return self._server_name or self._python_name

    def __repr__(self) -> str:
        return f"FilterableField({self.field!r})"

    def _expr(self, op: BaseOp) -> FilterExpr:
        return FilterExpr(field=self.field, op=op)

    def eq(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Eq(val=value))

    def ne(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Ne(val=value))

    def gt(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Gt(val=value))

    def gte(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Gte(val=value))

    def lt(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Lt(val=value))

    def lte(self, value: Scalar, /) -> FilterExpr:
        return self._expr(Lte(val=value))

    def in_(self, values: Iterable[Scalar], /) -> FilterExpr:
        return self._expr(In(val=tuple(values)))

    def not_in(self, values: Iterable[Scalar], /) -> FilterExpr:
        return self._expr(NotIn(val=tuple(values)))

    def contains(self, text: str, /) -> FilterExpr:
        return self._expr(Contains(val=text))

    def matches_regex(self, pattern: str, /) -> FilterExpr:
        return self._expr(Regex(val=pattern))

    def exists(self, exists: bool = True, /) -> FilterExpr:
        return self._expr(Exists(val=exists))

    def __eq__(self, other: Any) -> FilterExpr:  # type: ignore[override]
        return self.eq(other)

    def __ne__(self, other: Any) -> FilterExpr:  # type: ignore[override]
        return self.ne(other)

    def __hash__(self) -> int:
        return hash(self.field)
