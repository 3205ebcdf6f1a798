"""wandb-auto-widget: build, backtest and save W&B Automations from a notebook."""

__version__ = "0.1.0"
