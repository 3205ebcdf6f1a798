"""Filter semantics: backtest (``evaluate``) and incremental firing (``StreamEvaluator``).

Both implement docs/semantics.md and agree exactly. The preview shows ``evaluate``; the
engine fires with the same incremental parts ``StreamEvaluator`` is made of (the shared
running windows of ``windows`` and the fire policy of ``stream.fire_batch``), and the
run-filter and artifact-event matching here.
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
