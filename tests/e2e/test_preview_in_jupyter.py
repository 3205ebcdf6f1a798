"""The preview in real JupyterLab: the fire count it shows equals evaluate() on the same data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, expect

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import RunEvent
from wandb_auto_widget.preview import evaluate

from .conftest import builder_in_lab

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def sweep_project(server: LocalServer) -> list[str]:
    api = server.api
    api.create_project("e2e-preview")
    rng = np.random.default_rng(5)
    paths = []
    for r in range(8):
        run = api.init_run("local/e2e-preview", run_id=f"ep{r}", name=f"resnet-{r}")
        steps = np.arange(4000)
        loss = 2.0 * np.exp(-steps / 900) + 0.25 + 0.05 * rng.standard_normal(steps.size)
        if r in (2, 5):  # two runs diverge late
            loss[3000:] += np.linspace(0, 1.5, 1000)
        run.log(
            [
                {"_step": int(s), "_timestamp": 1.7e9 + r * 50_000 + s * 30.0, "val/loss": float(v)}
                for s, v in zip(steps, loss, strict=True)
            ]
        )
        paths.append(run.path)
    return paths


def test_preview_shows_what_evaluate_computes(
    browser: Browser, server: LocalServer, sweep_project: list[str], tmp_path: Path
) -> None:
    code = (
        "from wandb_auto_widget import AutomationBuilder\n"
        "builder = AutomationBuilder(project='e2e-preview')\n"
        "builder.spec = {**builder.spec, 'metric': 'val/loss', 'window': 5, 'threshold': 0.9, "
        "'name': 'diverging'}\nbuilder"
    )
    with builder_in_lab(browser, server, tmp_path, "preview.ipynb", code) as page:
        page.get_by_test_id("preview").click()
        summary = page.get_by_test_id("preview-summary")
        expect(page.get_by_test_id("builder")).to_have_attribute(
            "data-preview-done-ms", re.compile(r"\d+"), timeout=60_000
        )
        expect(summary).to_contain_text("would have fired")
        expected = evaluate(
            RunEvent.metric("val/loss").mean(5) > 0.9,
            server.api.histories(sweep_project, ["val/loss"]),
        )
        shown = re.search(r"fired (once|[\d,]+ times) in (\d+) of (\d+) runs", summary.inner_text())
        assert shown is not None
        count = 1 if shown.group(1) == "once" else int(shown.group(1).split()[0].replace(",", ""))
        assert (count, int(shown.group(2)), int(shown.group(3))) == (
            expected.fire_count,
            len(expected.runs_fired),
            8,
        )
        rows = page.get_by_test_id("preview-fires").locator("tbody tr")
        expect(rows).to_have_count(expected.fire_count)
        expect(page.get_by_test_id("preview-chart").locator("canvas")).to_have_count(1)
        # The overview: every run, the firing ones first and marked, each opens its chart.
        cards = page.get_by_test_id("overview-run")
        expect(cards).to_have_count(8)
        fired = {r.split("/")[-1] for r in expected.runs_fired}
        firing_cards = page.locator("[data-testid=overview-run].wab-fired")
        expect(firing_cards).to_have_count(len(fired))
        shown_first = [cards.nth(i).get_attribute("data-run") or "" for i in range(len(fired))]
        assert {s.split("/")[-1] for s in shown_first} == fired
        cards.last.click()
        expect(page.get_by_test_id("preview-run")).to_have_value(
            cards.last.get_attribute("data-run") or ""
        )
        # Labelled axes, a legend that names what is drawn, and a log scale.
        chart = page.get_by_test_id("preview-chart")
        labels = chart.locator(".u-label").all_inner_texts()
        assert "step" in labels and any("mean of last 5 val/loss" in t for t in labels), labels
        legend = chart.locator(".u-legend").inner_text()
        for item in ("raw", "fires", "suppressed", "threshold 0.9"):
            assert item in legend, legend
        expect(page.get_by_test_id("preview-log")).to_be_enabled()
        page.get_by_test_id("preview-log").check()
        expect(chart.locator("canvas")).to_have_count(1)
        # The sweep spans and marks the current threshold, counting it as the preview does.
        expect(page.get_by_test_id("sweep-current")).to_have_text(
            f"Current threshold 0.9: {expected.fire_count} fire"
            f"{'' if expected.fire_count == 1 else 's'} in {len(expected.runs_fired)} run"
            f"{'' if len(expected.runs_fired) == 1 else 's'}."
        )
        sweep_labels = page.get_by_test_id("preview-sweep").locator(".u-label").all_inner_texts()
        assert {"threshold", "fires", "runs firing"} <= set(sweep_labels), sweep_labels
        builder = page.get_by_test_id("builder")
        expect(builder).to_have_attribute("data-preview-render-ms", re.compile(r"\d+"))
        # Clicking the sweep sets the threshold in the form.
        sweep = page.get_by_test_id("preview-sweep").locator(".u-over")
        box = sweep.bounding_box()
        assert box is not None
        sweep.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
        expect(page.get_by_test_id("threshold")).not_to_have_value("0.9")
        rows.first.click()
        expect(page.get_by_test_id("preview-run")).not_to_have_value("")
        shot = DOCS / "preview.png" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "p.png"
        page.get_by_test_id("section-preview").screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000


def test_preview_shows_batches_as_they_land_and_cancel_keeps_them(
    browser: Browser, server: LocalServer, sweep_project: list[str], tmp_path: Path
) -> None:
    # One run a batch, each fetch taking 0.4 s as over a slow network: the batches land one
    # by one, slowly enough to watch them and to press Cancel in the middle.
    code = (
        "import time\n"
        "from wandb_auto_widget import AutomationBuilder\n"
        "from wandb_auto_widget.widget import metric_preview\n"
        "metric_preview.BATCH_RUNS, metric_preview.PREFETCH = 1, 1\n"
        "builder = AutomationBuilder(project='e2e-preview')\n"
        "fetch = builder._api.histories\n"
        "def slow_fetch(*args, **kwargs):\n"
        "    time.sleep(0.4)\n"
        "    return fetch(*args, **kwargs)\n"
        "builder._api.histories = slow_fetch\n"
        "builder.spec = {**builder.spec, 'metric': 'val/loss', 'window': 5, 'threshold': 0.9}\n"
        "builder"
    )
    with builder_in_lab(browser, server, tmp_path, "progressive.ipynb", code) as page:
        page.get_by_test_id("preview").click()
        message = page.get_by_test_id("preview-message")
        summary = page.get_by_test_id("preview-summary")
        cards = page.get_by_test_id("overview-run")
        # The first runs are shown while the rest are still being fetched.
        expect(summary).to_contain_text("so far (2 runs evaluated)", timeout=30_000)
        expect(message).to_contain_text("Evaluated 2 of 8 runs")
        assert 1 <= cards.count() < 8
        page.get_by_test_id("preview-cancel").click()
        expect(summary).to_contain_text("Cancelled after", timeout=10_000)
        kept = int(re.search(r"Cancelled after (\d+) runs", summary.inner_text()).group(1))  # type: ignore[union-attr]
        assert 2 <= kept < 8
        expect(cards).to_have_count(kept)
        expect(page.get_by_test_id("preview-cancel")).to_be_hidden()
        expect(page.get_by_test_id("preview")).to_be_enabled()
        # Run to the end: every run, and the same totals as evaluate() on the full history.
        page.get_by_test_id("preview").click()
        expect(page.get_by_test_id("builder")).to_have_attribute(
            "data-preview-done-ms", re.compile(r"\d+"), timeout=60_000
        )
        expect(cards).to_have_count(8)
        expected = evaluate(
            RunEvent.metric("val/loss").mean(5) > 0.9,
            server.api.histories(sweep_project, ["val/loss"]),
        )
        expect(summary).to_contain_text(f"in {len(expected.runs_fired)} of 8 runs", timeout=10_000)
