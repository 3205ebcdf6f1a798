"""The environment every test that runs the real wandb SDK gives it."""

from __future__ import annotations

from pathlib import Path


def wandb_env(base_url: str, api_key: str, home: Path) -> dict[str, str]:
    """wandb pointed at a server on loopback, quiet, with every file it writes under ``home``.

    Machine-info probes (the cloud-metadata address among them) are turned off by the
    ``wandb.Settings`` the scripts pass; this covers what environment variables can.
    """
    return {
        "WANDB_BASE_URL": base_url,
        "WANDB_API_KEY": api_key,
        "WANDB_MODE": "online",
        "WANDB_SILENT": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_DIR": str(home),
        "WANDB_CONFIG_DIR": str(home / "config"),
        "WANDB_CACHE_DIR": str(home / "cache"),
        "WANDB_DATA_DIR": str(home / "data"),
    }
