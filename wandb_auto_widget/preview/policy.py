"""Fire policies: which condition steps actually fire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

WANDB_COOLDOWN_S = 24 * 60 * 60
"""W&B fires a metric automation at most once per run per 24 hours."""

Mode = Literal["every", "edge"]


@dataclass(frozen=True)
class FirePolicy:
    """``mode`` picks candidate rows; ``cooldown_s`` then drops any within the cooldown of a fire.

    - ``every``: every row where the condition holds is a candidate.
    - ``edge``: only rows where it holds and did not hold at the previous evaluated row.
    - ``cooldown_s``: a candidate fires only if at least this many seconds of ``_timestamp``
      have passed since the run's previous fire.
    """

    mode: Mode = "every"
    cooldown_s: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("every", "edge"):
            raise ValueError(f"policy mode must be 'every' or 'edge', got {self.mode!r}")
        if self.cooldown_s is not None and not self.cooldown_s >= 0:
            raise ValueError(
                f"cooldown_s must be a number of seconds >= 0, got {self.cooldown_s!r}"
            )


PolicyLike = Literal["wandb", "every", "edge"] | FirePolicy


def resolve_policy(policy: PolicyLike, cooldown_s: float | None = None) -> FirePolicy:
    """``"wandb"`` is ``every`` with a 24 h cooldown; ``cooldown_s`` overrides the cooldown."""
    if isinstance(policy, FirePolicy):
        resolved = policy
    elif policy == "wandb":
        resolved = FirePolicy("every", WANDB_COOLDOWN_S)
    elif policy in ("every", "edge"):
        resolved = FirePolicy(policy)
    else:
        raise ValueError(f"policy must be 'wandb', 'every', 'edge' or a FirePolicy; got {policy!r}")
    if cooldown_s is not None:
        resolved = FirePolicy(resolved.mode, cooldown_s)
    return resolved


def select_fires(
    policy: FirePolicy,
    condition: npt.NDArray[np.bool_],
    timestamps: npt.NDArray[np.float64],
    *,
    previous_condition: bool = False,
    last_fire_ts: float | None = None,
) -> npt.NDArray[np.intp]:
    """Indices (into ``condition``) of the rows that fire."""
    candidates = condition
    if policy.mode == "edge":
        before = np.empty_like(condition)
        before[:1] = previous_condition
        before[1:] = condition[:-1]
        candidates = condition & ~before
    index = np.flatnonzero(candidates)
    if policy.cooldown_s is None or index.size == 0:
        return index
    return _apply_cooldown(index, timestamps[index], policy.cooldown_s, last_fire_ts)


def _apply_cooldown(
    index: npt.NDArray[np.intp],
    ts: npt.NDArray[np.float64],
    cooldown: float,
    last_fire_ts: float | None,
) -> npt.NDArray[np.intp]:
    fired: list[int] = []
    if ts.size > 1 and bool(np.all(ts[1:] >= ts[:-1])):
        # Sorted timestamps: jump straight to the next eligible candidate.
        pos = 0 if last_fire_ts is None else int(np.searchsorted(ts, last_fire_ts + cooldown))
        while pos < ts.size:
            fired.append(pos)
            pos = int(np.searchsorted(ts, ts[pos] + cooldown, side="left"))
            pos = max(pos, fired[-1] + 1)
    else:
        last = last_fire_ts
        for pos, t in enumerate(ts.tolist()):
            if last is None or t >= last + cooldown:
                fired.append(pos)
                last = t
    return index[np.asarray(fired, dtype=np.intp)]
