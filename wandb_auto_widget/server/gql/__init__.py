"""The GraphQL API: W&B's schema subset (schema.graphql) and its resolvers."""

from .context import Context
from .resolvers import build_schema

__all__ = ["Context", "build_schema"]
