"""A tiny but real training loop (logistic regression in numpy) that logs with wandb.

Point it at the embedded server and it logs there unchanged:

    WANDB_BASE_URL=http://127.0.0.1:8765 WANDB_API_KEY=<key> python examples/train.py --project demo

``--diverge-at STEP`` makes training unstable from that step (the weights take random kicks,
as with a learning rate far too high), so val/loss climbs: handy for watching an
automation fire live. Network hygiene: this example turns off wandb's system
probes (stats, metadata, machine info, cloud-metadata lookups), so it only talks to
WANDB_BASE_URL. Your own scripts keep wandb's defaults.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import wandb


def quiet_settings() -> wandb.Settings:
    base_url = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    return wandb.Settings(
        x_disable_stats=True,
        x_disable_meta=True,
        x_disable_machine_info=True,
        x_stats_coreweave_metadata_base_url=base_url,  # instead of 169.254.169.254
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entity", default=None)
    parser.add_argument("--project", default="demo")
    parser.add_argument("--name", default=None)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--diverge-at", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per step (a live demo)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    features = rng.normal(size=(2000, 10))
    true_w = rng.normal(size=10)
    labels = (features @ true_w + rng.normal(scale=0.5, size=2000) > 0).astype(float)
    train_x, val_x, train_y, val_y = features[:1600], features[1600:], labels[:1600], labels[1600:]
    weights = np.zeros(10)

    def loss_and_accuracy(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        p = 1 / (1 + np.exp(-np.clip(x @ weights, -30, 30)))
        loss = -np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9))
        return float(loss), float(np.mean((p > 0.5) == y))

    run = wandb.init(
        entity=args.entity,
        project=args.project,
        name=args.name,
        config={"lr": args.lr, "steps": args.steps},
        settings=quiet_settings(),
    )
    step = 0
    try:
        for step in range(args.steps):
            unstable = args.diverge_at is not None and step >= args.diverge_at
            lr = args.lr
            batch = rng.choice(1600, size=64, replace=False)
            p = 1 / (1 + np.exp(-np.clip(train_x[batch] @ weights, -30, 30)))
            weights -= lr * train_x[batch].T @ (p - train_y[batch]) / len(batch)
            if unstable:
                weights += rng.normal(scale=0.4, size=weights.size)
            loss, accuracy = loss_and_accuracy(train_x, train_y)
            val_loss, val_accuracy = loss_and_accuracy(val_x, val_y)
            run.log(
                {
                    "loss": loss,
                    "val/loss": val_loss,
                    "accuracy": accuracy,
                    "val/accuracy": val_accuracy,
                    "lr": lr,
                }
            )
            if args.sleep:
                time.sleep(args.sleep)

    except KeyboardInterrupt:
        # How wandb stops a run that was stopped from the server (a StopRun automation, or
        # wandb.Api().run(path).stop()): it interrupts the main thread.
        print(f"stopped from the server at step {step}", flush=True)
    run.finish()


if __name__ == "__main__":
    main()
