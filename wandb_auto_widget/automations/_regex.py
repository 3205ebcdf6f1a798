"""Regular expressions from users, run in linear time with RE2.

W&B's backend matches filter regexes with Go's ``regexp`` (RE2 syntax), so RE2 is also
the faithful choice: a pattern it refuses (backreferences, lookarounds) would not work on
W&B either. RE2 never backtracks, so no pattern can stall the server.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_PATTERN_LENGTH = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are raised to the caller, not printed to stderr
_OPTIONS.max_mem = 8 << 20  # bytes for one compiled pattern


@functools.lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> Any:
    """The compiled pattern; ValueError with a readable reason when RE2 cannot run it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(
            f"regular expression is {len(pattern)} characters long; at most "
            f"{MAX_PATTERN_LENGTH} are allowed"
        )
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"invalid regular expression {pattern!r}: {reason} (RE2 syntax, as W&B uses: "
            "no backreferences or lookarounds)"
        ) from None


def regex_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches anywhere in ``text``, in time linear in both."""
    return compile_regex(pattern).search(text) is not None
