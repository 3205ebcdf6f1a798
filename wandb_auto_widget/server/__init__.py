"""The embedded W&B-compatible server: GraphQL, SQLite store, (later) engine and delivery."""

from .app import create_app
from .local import LocalServer, default_db_path
from .store.db import Database

__all__ = ["Database", "LocalServer", "create_app", "default_db_path"]
