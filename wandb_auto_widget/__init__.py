"""wandb-auto-widget: build, backtest and save W&B Automations from a notebook."""

from .api import Api
from .server import LocalServer

__version__ = "0.1.0"
__all__ = ["Api", "LocalServer", "__version__"]
