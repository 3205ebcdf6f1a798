"""What every resolver gets: the database and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..store.db import Database
from ..uploads import Uploads

WANDB_FEATURES = (
    "QUERY_AUTOMATIONS_ON_ENTITY",
    "AUTOMATION_EVENT_RUN_METRIC",
    "AUTOMATION_EVENT_RUN_METRIC_CHANGE",
    "AUTOMATION_EVENT_RUN_METRIC_ZSCORE",
    "AUTOMATION_EVENT_RUN_STATE",
    "AUTOMATION_ACTION_NO_OP",
    "ARTIFACT_DIGEST_ALGORITHM",
    "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",
)
"""The features W&B advertises that this server has too."""
FEATURES = (
    *WANDB_FEATURES,
    # Ours, advertised so that our Api sends these only where they exist:
    "HISTORY_COLUMNS",  # POST /history/columns (bulk_history.py)
    "SLACK_WEBHOOK_INTEGRATIONS",  # createSlackIntegration
    "SECRETS_API",  # insertSecret
    "AUTOMATION_EXECUTIONS",  # entity.automationExecutions
    "AUTOMATION_TEST_FIRE",  # testTrigger
    "ARTIFACT_EVENT_HISTORY",  # Project.artifactEvents, ArtifactCollection.artifactEvents
    "EXTENSION_RULES",  # plateau, non-finite, stalled runs, StopRun (automations/extensions.py)
)


@dataclass
class Context:
    db: Database
    viewer: str
    """The entity of the single local user; the default entity for new runs."""
    engine: Engine
    uploads: Uploads
    features: tuple[str, ...] = FEATURES
    """What ``serverInfo`` advertises: all, or W&B's only (a stand-in for W&B in tests)."""


def ctx(info: Any) -> Context:
    context: Context = info.context
    return context


def page(
    items: list[Any],
    first: int | None,
    after: str | None,
    wrap: Any = lambda x: x,
    edge_fields: Any = None,
) -> dict[str, Any]:
    """A Relay connection over ``items``; cursors are positions, as W&B's are opaque strings.
    ``edge_fields(item)`` adds fields to an item's edge (such as a version's ``version``)."""
    start = 0
    if after:
        try:
            start = int(after)
        except ValueError:
            from ..errors import Invalid

            raise Invalid(f"after: {after!r} is not a cursor this server issued") from None
    size = 50 if first is None else max(0, min(int(first), 1000))
    chunk = items[start : start + size]
    end = start + len(chunk)
    return {
        "pageInfo": {
            "endCursor": str(end) if chunk else after,
            "hasNextPage": end < len(items),
            "startCursor": str(start),
            "hasPreviousPage": start > 0,
        },
        "edges": [
            {
                "node": wrap(item),
                "cursor": str(start + i + 1),
                **(edge_fields(item) if edge_fields else {}),
            }
            for i, item in enumerate(chunk)
        ],
    }
