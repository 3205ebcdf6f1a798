"""Integrations: the Slack channels and webhook endpoints that actions send to."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from ._base import Typename, WireResult


class SlackIntegration(WireResult):
    """A Slack channel an entity has connected. Secrets are never readable."""

    typename__: Typename[Literal["SlackIntegration"]] = "SlackIntegration"
    id: str
    team_name: str
    """The Slack workspace (not the W&B team)."""
    channel_name: str
    """The channel notifications are posted to."""


class WebhookIntegration(WireResult):
    """A webhook endpoint an entity has configured. Secrets are never readable."""

    typename__: Typename[Literal["GenericWebhookIntegration"]] = "GenericWebhookIntegration"
    id: str
    name: str
    """The integration's name."""
    url_endpoint: str
    """The URL requests are POSTed to."""


Integration = Annotated[SlackIntegration | WebhookIntegration, Field(discriminator="typename__")]
IntegrationAdapter: TypeAdapter[SlackIntegration | WebhookIntegration] = TypeAdapter(Integration)
