"""The README lists every data-testid the view sets, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def view_testids() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "js" / "src").glob("*.ts"):
        text = source.read_text()
        found |= set(re.findall(r'testid: "([a-z0-9-]+)"', text))
        # bind(field, control, "id"), input(field, "id", ...), select(field, "id", ...)
        found |= set(re.findall(r'(?:bind|input|select)\([^;]*?, "([a-z0-9-]+)"(?:, |\))', text))
    found |= {f"state-{s.lower()}" for s in ("RUNNING", "FINISHED", "FAILED")}
    return found


def readme_testids() -> set[str]:
    table = ROOT.joinpath("README.md").read_text().split("## The builder's `data-testid`")[1]
    table = table.split("\n## ")[0]
    return set(re.findall(r"`([a-z0-9-]+)`", table)) - {"data-run", "data-fires", "data-testid"}


def test_the_readme_lists_every_testid_of_the_view() -> None:
    view = view_testids()
    assert {"builder", "save", "threshold", "payload", "overview-run", "sweep-current"} <= view
    listed = readme_testids() - {"error-name", "error-threshold", "error-integration"}
    assert view - listed == set(), f"not in the README: {sorted(view - listed)}"
    assert listed - view == set(), f"in the README, not in the view: {sorted(listed - view)}"
