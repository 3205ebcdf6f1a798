"""A believable demo workspace: a hyperparameter sweep with runs that overfit, diverge,
hit a NaN, fail or crash, plus model artifacts, a registry and two integrations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..api import Api, NotFoundError
from ..automations import OnSchedule, SendDigest

ENTITY = "local"
PROJECT = "demo-sweep"
DIGEST = "daily-digest"
REGISTRY = "wandb-registry-model"


@dataclass(frozen=True)
class RunPlan:
    name: str
    steps: int
    lr: float
    batch_size: int
    fate: str  # "healthy", "overfits", "diverges", "nan", "failed", "crashed"


def plans(scale: float = 1.0) -> list[RunPlan]:
    """About 30 runs; lengths up to 20,000 steps (times ``scale``)."""
    rng = np.random.default_rng(2024)
    fates = (
        ["healthy"] * 18
        + ["overfits"] * 4
        + ["diverges"] * 3
        + ["nan"]
        + ["failed"] * 2
        + ["crashed"] * 2
    )
    out = []
    for i, fate in enumerate(fates):
        lr = float(10 ** rng.uniform(-4, -1.5)) * (8 if fate == "diverges" else 1)
        steps = int(rng.integers(4_000, 20_001) * scale)
        if fate in ("failed", "crashed"):
            steps //= 3
        arch = ["bert-base", "bert-large", "resnet50", "vit-small"][i % 4]
        out.append(
            RunPlan(
                f"{arch}-lr{lr:.0e}-{i:02d}",
                max(steps, 50),
                lr,
                int(rng.choice([32, 64, 128])),
                fate,
            )
        )
    return out


def curves(plan: RunPlan, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(plan.steps, dtype=float)
    span = max(plan.steps, 1)
    decay = np.exp(-t / (0.25 * span))
    loss = 2.3 * decay + 0.35 + 0.04 * rng.standard_normal(plan.steps)
    val = 2.3 * decay + 0.42 + 0.05 * rng.standard_normal(plan.steps)
    if plan.fate == "overfits":  # validation loss turns up in the last third
        start = int(0.65 * plan.steps)
        val[start:] += np.linspace(0, 0.9, plan.steps - start) ** 1.5
    if plan.fate == "diverges":  # a loss spike: over ~100 steps, then it stays up
        start = int(0.85 * plan.steps)
        ramp = min(100, plan.steps - start)
        blowup = np.full(plan.steps - start, np.exp(5.0) - 1)
        blowup[:ramp] = np.exp(np.linspace(0, 5, ramp)) - 1
        loss[start:] += blowup
        val[start:] += blowup * 1.1
    if plan.fate == "nan":
        loss[int(0.9 * plan.steps) :] = np.nan
    accuracy = np.clip(1 - val / 3 + 0.01 * rng.standard_normal(plan.steps), 0, 1)
    lr = plan.lr * np.minimum(1, (t + 1) / 500) * 0.5 * (1 + np.cos(np.pi * t / span))
    return {
        "loss": loss,
        "val/loss": val,
        "accuracy": accuracy,
        "lr": lr,
        "system/gpu.0.temp": 60 + 15 * (1 - decay) + rng.standard_normal(plan.steps),
        "system/cpu": 35 + 10 * rng.random(plan.steps),
    }


def seed(api: Api, receiver_url: str, *, scale: float = 1.0) -> dict[str, str]:
    """Create the demo workspace unless it exists; safe to call again (nothing duplicates)."""
    try:
        existing = api.runs(f"{ENTITY}/{PROJECT}")
    except NotFoundError:
        existing = []
    if not existing:
        _seed_runs(api, scale)
        _seed_artifacts(api)
    slack = next(
        (i for i in api.slack_integrations(ENTITY) if i.channel_name == "#ml-alerts"), None
    )
    if slack is None:
        slack = api.create_slack_integration(
            "#ml-alerts", receiver_url.rstrip("/") + "/slack", entity=ENTITY, team_name="demo-team"
        )
    webhook = next((i for i in api.webhook_integrations(ENTITY) if i.name == "demo-receiver"), None)
    if webhook is None:
        webhook = api.create_webhook_integration(
            "demo-receiver",
            receiver_url.rstrip("/") + "/hook",
            entity=ENTITY,
            secret="demo-signing-secret",
        )
    if not api.automations(ENTITY, name=DIGEST):
        project = api.project(PROJECT, ENTITY)
        api.create_automation(
            OnSchedule(scope=project, cron="0 9 * * *", timezone="UTC")
            >> SendDigest.from_integration(slack, metrics=["val/loss", "accuracy"]),
            name=DIGEST,
            description="Every morning: what the sweep did since yesterday",
        )
    return {"project": PROJECT, "slack": slack.id, "webhook": webhook.id}


def _seed_runs(api: Api, scale: float) -> None:
    api.create_project(PROJECT, ENTITY)
    start = 1_763_000_000.0  # a fixed past moment, so the demo looks the same every time
    for i, plan in enumerate(plans(scale)):
        run = api.init_run(
            f"{ENTITY}/{PROJECT}",
            name=plan.name,
            run_id=f"run-{i:02d}",
            config={"lr": plan.lr, "batch_size": plan.batch_size},
            tags=[plan.name.split("-lr")[0]],
        )
        data = curves(plan, seed=i)
        began = start + i * 5 * 3600  # a new run every 5 hours
        rows = []
        for step in range(plan.steps):
            row: dict[str, float | int] = {"_step": step, "_timestamp": began + step * 12.0}
            for key, values in data.items():
                row[key] = float(values[step])
            rows.append(row)
        for at in range(0, len(rows), 5_000):
            run.log(rows[at : at + 5_000])
        if plan.fate == "crashed":
            api.set_run_state(run.path, "crashed")
        else:
            run.finish(exit_code=1 if plan.fate == "failed" else 0)


def _seed_artifacts(api: Api) -> None:
    path = f"{ENTITY}/{PROJECT}"
    versions = []
    for i, accuracy in enumerate([0.81, 0.84, 0.86, 0.88, 0.87]):
        aliases = ["best"] if i == 3 else []
        version = api.log_artifact(
            path,
            "classifier",
            "model",
            aliases=aliases,
            metadata={"accuracy": accuracy, "epochs": 10 + i},
        )
        versions.append(version)
    api.add_artifact_tag(versions[3], "candidate")
    api.link_artifact(
        versions[3], f"{ENTITY}/{REGISTRY}/production-classifier", aliases=["production"]
    )
