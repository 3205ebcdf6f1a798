"""The notebook widget: ``AutomationBuilder``."""

from .builder import AutomationBuilder
from .connection import Connection, connect

__all__ = ["AutomationBuilder", "Connection", "connect"]
