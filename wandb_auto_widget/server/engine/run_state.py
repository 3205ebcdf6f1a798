"""Run-state automations: a change of state (crashed counts as failed) fires the automations
whose run filter matches the run and whose states include the new one."""

from __future__ import annotations

from ...automations import OnRunState
from ...preview import matches_run_filter, state_change_fires
from ..store import triggers
from .context import RunContext


def on_run_state(context: RunContext, previous: str | None, current: str) -> int:
    fired = 0
    scope, fields = context.scope, context.fields()
    for trigger in triggers.run_scope_triggers(context.conn, context.project, ("RUN_STATE",)):
        event: OnRunState = context.settings.event(trigger, scope)
        if matches_run_filter(event.filter.run, fields) and state_change_fires(
            event.filter, previous, current
        ):
            variables = {**context.variables("RUN_STATE"), "run_state": current}
            context.fire(trigger, variables, {"from": previous, "to": current})
            fired += 1
    return fired
