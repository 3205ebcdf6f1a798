"""The notebook widget: ``AutomationBuilder``."""

from .backtest import Backtest, RunBacktest
from .builder import AutomationBuilder
from .connection import Connection, connect

__all__ = ["AutomationBuilder", "Backtest", "Connection", "RunBacktest", "connect"]
