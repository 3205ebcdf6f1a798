"""The shared GraphQL client, for W&B (cloud or server) and the embedded server."""

from .client import Api, LoggedRun
from .errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    TransportError,
    UnsupportedError,
    ValidationError,
)
from .models import Artifact, ArtifactCollection, ArtifactEventRecord, Execution, Project, Run

__all__ = [
    "Api",
    "ApiError",
    "Artifact",
    "ArtifactCollection",
    "ArtifactEventRecord",
    "AuthenticationError",
    "ConflictError",
    "Execution",
    "LoggedRun",
    "NotFoundError",
    "Project",
    "Run",
    "TransportError",
    "UnsupportedError",
    "ValidationError",
]
