"""Build a threshold automation by clicking and typing in real JupyterLab and Notebook 7."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from wandb_auto_widget import LocalServer

from .conftest import Jupyter, run_notebook, write_notebook

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def seeded(server: LocalServer) -> LocalServer:
    api = server.api
    api.create_project("e2e")
    run = api.init_run("local/e2e", run_id="e2e-run", name="bert-base")
    run.log([{"val/loss": 1.0 / (i + 1), "accuracy": i / 40} for i in range(40)])
    api.create_slack_integration("#ml-alerts", "http://127.0.0.1:9/slack")
    return server


def build_and_save(page: Page, name: str) -> None:
    builder = page.locator("[data-testid=builder]")
    expect(builder).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=connection]")).to_contain_text(
        "Connected to the W&B server at"
    )
    page.get_by_test_id("metric-name").fill("val/loss")
    page.get_by_test_id("agg").select_option("AVERAGE")
    page.get_by_test_id("window").fill("5")
    page.get_by_test_id("cmp").select_option("$gt")
    page.get_by_test_id("threshold").fill("0.5")
    page.get_by_test_id("action-type").select_option("NOTIFICATION")
    page.get_by_test_id("integration").select_option(label="#ml-alerts")
    page.get_by_test_id("title").fill("val/loss is high")
    expect(page.get_by_test_id("save")).to_be_disabled()  # still no name
    expect(page.get_by_test_id("error-name")).to_have_text("Give the automation a name")
    page.get_by_test_id("name").fill(name)
    expect(page.get_by_test_id("summary")).to_have_text(
        "Fires when the average of the last 5 values of val/loss is above 0.5, in any run of e2e."
    )
    expect(page.get_by_test_id("save")).to_be_enabled()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("status")).to_contain_text(f"Saved '{name}'", timeout=30_000)


def check_saved(server: LocalServer, name: str) -> None:
    saved = server.api.automation(name)
    condition = saved.event.filter.condition  # type: ignore[union-attr]
    assert repr(condition) == "'AVERAGE(val/loss) > 0.5'"
    assert saved.action.title == "val/loss is high"  # type: ignore[union-attr]


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_build_and_save_in_jupyter(
    app: str, browser: Browser, seeded: LocalServer, tmp_path: Path
) -> None:
    write_notebook(
        tmp_path / "builder.ipynb",
        [
            "from wandb_auto_widget import AutomationBuilder\n"
            "builder = AutomationBuilder(project='e2e')\nbuilder",
        ],
    )
    jupyter = Jupyter(app, tmp_path, seeded)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    try:
        path = "lab/tree" if app == "lab" else "notebooks"
        run_notebook(page, f"{jupyter.url}/{path}/builder.ipynb")
        name = f"e2e-{app}"
        build_and_save(page, name)
        check_saved(seeded, name)
        if app == "lab":
            shot = (
                DOCS / "builder.png" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "b.png"
            )
            page.locator("[data-testid=builder]").screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000
    finally:
        page.close()
        jupyter.stop()


def test_switching_the_action_asks_for_an_integration_of_the_new_kind(
    browser: Browser, seeded: LocalServer, tmp_path: Path
) -> None:
    write_notebook(
        tmp_path / "switch.ipynb",
        [
            "from wandb_auto_widget import AutomationBuilder\n"
            "b = AutomationBuilder(project='e2e')\n"
            "b.spec = {**b.spec, 'metric': 'val/loss', 'name': 'switch'}\nb",
        ],
    )
    jupyter = Jupyter("lab", tmp_path, seeded)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    try:
        run_notebook(page, f"{jupyter.url}/lab/tree/switch.ipynb")
        expect(page.get_by_test_id("builder")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("integration")).to_have_value(re.compile(".+"))
        expect(page.get_by_test_id("save")).to_be_enabled(timeout=30_000)
        page.get_by_test_id("action-type").select_option("GENERIC_WEBHOOK")
        expect(page.get_by_test_id("integration")).to_have_value("")
        expect(page.get_by_test_id("error-integration")).to_have_text("Choose a webhook")
        expect(page.get_by_test_id("save")).to_be_disabled()
        expect(page.get_by_test_id("code")).to_contain_text("appears here once the form is valid")
    finally:
        page.close()
        jupyter.stop()


def test_dark_theme_screenshot(browser: Browser, seeded: LocalServer, tmp_path: Path) -> None:
    """The builder stays readable in JupyterLab's dark theme."""
    write_notebook(
        tmp_path / "dark.ipynb",
        [
            "from wandb_auto_widget import AutomationBuilder\nAutomationBuilder(project='e2e')",
        ],
    )
    jupyter = Jupyter("lab", tmp_path, seeded, dark=True)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    try:
        run_notebook(page, f"{jupyter.url}/lab/tree/dark.ipynb")
        builder = page.locator("[data-testid=builder]")
        expect(builder).to_be_visible(timeout=60_000)
        page.get_by_test_id("metric-name").fill("val/loss")
        background = builder.evaluate("el => getComputedStyle(el).backgroundColor")
        text = builder.evaluate("el => getComputedStyle(el).color")
        assert background != text

        def brightness(css: str) -> float:  # "rgb(r, g, b)" or "rgba(r, g, b, a)"
            return sum(float(v) for v in re.findall(r"[\d.]+", css)[:3])

        # Dark theme: a dark background with light text.
        assert brightness(background) < 200 and brightness(text) > 400
        shot = (
            DOCS / "builder-dark.png"
            if os.environ.get("UPDATE_SCREENSHOTS")
            else tmp_path / "d.png"
        )
        builder.screenshot(path=str(shot))
    finally:
        page.close()
        jupyter.stop()
