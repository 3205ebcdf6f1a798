"""wandb-auto-widget: build, backtest and save W&B Automations from a notebook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import Api
from .server import LocalServer

if TYPE_CHECKING:
    from .widget import AutomationBuilder

__version__ = "0.1.0"
__all__ = ["Api", "AutomationBuilder", "LocalServer", "__version__"]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets; load it only when someone asks for it.
    if name == "AutomationBuilder":
        from .widget import AutomationBuilder

        return AutomationBuilder
    raise AttributeError(f"module 'wandb_auto_widget' has no attribute {name!r}")
