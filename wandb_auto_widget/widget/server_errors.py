"""Which form field a server's error message is about, so the builder can show it there.

Servers (W&B's and ours) name the input field first: ``name: ...``,
``eventFilter: run_metric_filter.threshold_filter.window_size: ...``,
``triggeredActionConfig.genericWebhookActionInput.integrationID: ...``. A message that names
none of the form's fields is shown in the status line only.
"""

from __future__ import annotations

import re

# (pattern on the message, form field); the first match wins. Window and threshold fields
# depend on the kind of metric rule, so they are resolved with the event type below.
_RULES: list[tuple[str, str]] = [
    (r"already exists|already named|same name|^name:", "name"),
    (r"^description:", "description"),
    (r"integrationID|integration", "integration"),
    (r"requestPayload|payload", "payload"),
    (r"notificationActionInput\.title", "title"),
    (r"notificationActionInput\.message", "message"),
    (r"^scope(ID|Type)?:", "scope"),
    (r"run_filter", "run_filter_value"),
    (r"prior_window", "prior_window"),
    (r"window_size|\bwindow\b", "{window}"),
    (r"threshold|change_amount", "{threshold}"),
    (r"run_state_filter|states", "states"),
    (r"run_metric_filter\.\w+\.name|metric", "metric"),
    (r"eventFilter.*(alias|tag)", "artifact_filter_regex"),
    (r"^eventFilter:", "event_type"),
]
_BY_KIND = {
    "RUN_METRIC": {"window": "window", "threshold": "threshold"},
    "RUN_METRIC_CHANGE": {"window": "change_window", "threshold": "change_amount"},
    "RUN_METRIC_ZSCORE": {"window": "zscore_window", "threshold": "zscore_threshold"},
}


def field_of(message: str, event_type: str) -> str | None:
    """The form field ``message`` is about, or None."""
    for pattern, field in _RULES:
        if re.search(pattern, message):
            if field.startswith("{"):
                return _BY_KIND.get(event_type, _BY_KIND["RUN_METRIC"])[field.strip("{}")]
            return field
    return None
