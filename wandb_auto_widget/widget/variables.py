"""Template variables a webhook payload can use, by event kind (docs/engine.md documents them)."""

from __future__ import annotations

COMMON = ["${event_type}", "${event_author}", "${project_name}", "${entity_name}"]
ARTIFACT = [
    "${artifact_collection_name}",
    "${artifact_version}",
    "${artifact_version_string}",
    "${artifact_metadata.<KEY>}",
]
RUN = ["${run_id}", "${run_name}", "${run_url}", "${run_state}"]
METRIC = ["${metric_name}", "${metric_value}", "${step}"]
STALL = ["${stall_state}", "${stalled_for_s}", "${last_history_at}", "${stall_id}"]


def template_variables(event_type: str) -> list[str]:
    """The ``${variables}`` W&B (and our engine) fill in for this event type."""
    if event_type.startswith("RUN_METRIC"):
        return [*COMMON, *RUN, *METRIC]
    if event_type == "RUN_STATE":
        return [*COMMON, *RUN]
    if event_type == "RUN_STALLED":
        return [*COMMON, *RUN, *STALL]
    if event_type == "SCHEDULE":
        return []  # a digest is composed, not templated
    extra = {
        "ADD_ARTIFACT_ALIAS": ["${alias}"],
        "ADD_ARTIFACT_TAG": ["${tag}"],
        "REMOVE_ARTIFACT_TAG": ["${tag}"],
        "ADD_COLLECTION_TAG": ["${tag}"],
        "REMOVE_COLLECTION_TAG": ["${tag}"],
    }.get(event_type, [])
    return [*COMMON, *ARTIFACT, *extra]
