"""Filter semantics: backtest (``evaluate``) and incremental firing (``StreamEvaluator``).

Both implement docs/semantics.md and agree exactly; the engine fires with
``StreamEvaluator`` and the preview shows ``evaluate``.
"""

from .evaluation import Evaluation, RunEvaluation, evaluate
from .policy import WANDB_COOLDOWN_S, FirePolicy
from .rules import Rule, rule_from
from .run_events import (
    artifact_event_fields,
    check_run_filter,
    matches_run_filter,
    run_filter_fields,
    state_change_fires,
    triggering_state,
)
from .stream import Fire, StreamEvaluator

__all__ = [
    "WANDB_COOLDOWN_S",
    "Evaluation",
    "Fire",
    "FirePolicy",
    "Rule",
    "RunEvaluation",
    "StreamEvaluator",
    "artifact_event_fields",
    "check_run_filter",
    "evaluate",
    "matches_run_filter",
    "rule_from",
    "run_filter_fields",
    "state_change_fires",
    "triggering_state",
]
