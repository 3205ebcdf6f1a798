"""The embedded W&B-compatible server: GraphQL and file_stream over a SQLite store, and the
engine that fires automations and delivers their actions."""

from .app import create_app
from .local import LocalServer, default_db_path
from .store.db import Database

__all__ = ["Database", "LocalServer", "create_app", "default_db_path"]
