"""Filtering and ordering a listing the way W&B's connections take ``filters`` and ``order``:
a Mongo-style filter over the fields each item offers, and ``"+key"`` / ``"-key"``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..._jsontext import JSONTextError, loads
from ...automations.filters import parse_filter
from ...preview import check_run_filter, matches_run_filter
from ..errors import Invalid, invalid

T = TypeVar("T")


def select(
    items: Sequence[T],
    fields: Callable[[T], Mapping[str, Any]],
    filters: Any,
    order: str | None,
    sort_keys: Mapping[str, Callable[[T], Any]],
    default_order: str,
) -> list[T]:
    """``items`` that match ``filters`` (a JSON string or dict over ``fields(item)``), sorted
    by ``order`` (a key of ``sort_keys`` after ``+``/``-``); Invalid naming the argument."""
    if isinstance(filters, str):
        try:
            filters = loads(filters) if filters.strip() else {}
        except JSONTextError:
            raise Invalid('filters: must be a JSON object, e.g. \'{"name": "x"}\'') from None
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters: must be a JSON object")
    chosen = list(items)
    if filters:
        try:
            expr = parse_filter(filters)
            check_run_filter(expr)
            chosen = [item for item in chosen if matches_run_filter(expr, fields(item))]
        except ValueError as exc:
            raise invalid("filters", exc) from None
    wanted = order or default_order
    key = sort_keys.get(wanted.lstrip("+-"))
    if key is None:
        raise Invalid(
            f"order: {wanted!r} is not supported here; use '+' or '-' followed by one of "
            f"{', '.join(sort_keys)}"
        )
    return sorted(chosen, key=key, reverse=wanted.startswith("-"))
