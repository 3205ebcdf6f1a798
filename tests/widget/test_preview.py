"""The builder's preview: the same fires as evaluate(), progress, cancel and clear errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.automations import RunEvent
from wandb_auto_widget.preview import evaluate
from wandb_auto_widget.widget import AutomationBuilder, metric_preview
from wandb_auto_widget.widget.preview_data import minmax_indices


@pytest.fixture(scope="module")
def runs(server: LocalServer) -> list[str]:
    api = server.api
    api.create_project("preview-proj")
    rng = np.random.default_rng(11)
    paths = []
    for r in range(6):
        run = api.init_run(
            "local/preview-proj", run_id=f"p{r}", name=f"bert-{r}" if r < 4 else f"gpt-{r}"
        )
        loss = np.abs(rng.standard_normal(3000)) * (0.3 + 0.1 * r)
        run.log(
            [
                {"_step": s, "_timestamp": 1.7e9 + s * 120.0, "loss": float(v)}
                for s, v in enumerate(loss)
            ]
        )
        paths.append(run.path)
    return paths


def builder_for(server: LocalServer, **spec: Any) -> AutomationBuilder:
    widget = AutomationBuilder(api=server.api, project="preview-proj")
    widget.spec = {**widget.spec, "metric": "loss", "window": 5, "threshold": 0.6, **spec}
    return widget


def test_fire_count_equals_evaluate(server: LocalServer, runs: list[str]) -> None:
    widget = builder_for(server, run_filter_mode="contains", run_filter_value="bert")
    evaluation = widget.preview()
    assert evaluation is not None and widget.preview_view["state"] == "done"
    # Independently: fetch the same runs and evaluate the same filter.
    api: Api = server.api
    bert = [p for p in runs if api.run(p).display_name.startswith("bert")]  # type: ignore[union-attr]
    expected = evaluate(RunEvent.metric("loss").mean(5) > 0.6, api.histories(bert, ["loss"]))
    assert widget.preview_view["fire_count"] == expected.fire_count == evaluation.fire_count
    assert widget.preview_view["runs_total"] == 4
    assert len(widget.preview_view["fires"]) == expected.fire_count
    assert widget.preview_view["summary"].startswith("would have fired")
    # The chart's buffer holds what the header describes, and stays small.
    assert len(widget.preview_buffer) == widget.preview_view["bytes"] > 0
    assert widget.preview_view["sweep"] and all(
        p["fires"] >= 0 for p in widget.preview_view["sweep"]
    )
    every = widget.preview(policy="every")
    assert every is not None and every.fire_count >= evaluation.fire_count


def test_progress_and_cancel(
    server: LocalServer, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_preview, "BATCH_RUNS", 2)  # three batches of two runs
    monkeypatch.setattr(metric_preview, "UPDATE_EVERY_S", 0)
    widget = builder_for(server)
    seen: list[dict[str, Any]] = []
    buffers: list[int] = []
    widget.observe(lambda change: seen.append(dict(change["new"])), names=["preview_view"])
    widget.observe(lambda change: buffers.append(len(change["new"])), names=["preview_buffer"])
    widget.preview()
    running = [v for v in seen if v.get("state") == "running"]
    # Each batch is shown as it lands: more runs each time, with their counts and fires.
    assert [v["done"] for v in running] == [2, 4, 6]
    assert all(v["summary"].startswith("so far") for v in running)
    assert [len(v["runs"]) for v in running] == [2, 4, 6]
    # The chart's buffer goes again only when the runs drawn have doubled (2, 4), and at the
    # end. An update between brings counts: its runs carry no array references (the view
    # keeps those of the buffer it has).
    assert len(buffers) == 3 and buffers[-1] == widget.preview_view["bytes"]
    assert all("evaluated" in r for r in running[1]["runs"])
    assert not any("evaluated" in r for r in running[2]["runs"])
    assert all("evaluated" in r for r in widget.preview_view["runs"])
    assert widget.preview_view["state"] == "done" and widget.preview_view["total"] == 6

    original = server.api.histories

    def cancelled_fetch(*args: Any, **kwargs: Any) -> Any:
        widget._preview_cancel.set()  # type: ignore[union-attr]
        return original(*args, **kwargs)

    widget._api.histories = cancelled_fetch  # type: ignore[method-assign]
    try:
        assert widget.preview() is None
        assert widget.preview_view == {"state": "error", "message": "Preview cancelled."}
    finally:
        del widget._api.histories


def test_cancel_keeps_what_was_evaluated(
    server: LocalServer, runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_preview, "BATCH_RUNS", 1)
    monkeypatch.setattr(metric_preview, "PREFETCH", 1)
    widget = builder_for(server)
    fetched: list[int] = []
    original = server.api.histories

    def fetch_then_cancel_at_the_third(*args: Any, **kwargs: Any) -> Any:
        fetched.append(1)
        if len(fetched) == 3:
            widget._preview_cancel.set()  # type: ignore[union-attr]
        return original(*args, **kwargs)

    widget._api.histories = fetch_then_cancel_at_the_third  # type: ignore[method-assign]
    try:
        result = widget.preview()
    finally:
        del widget._api.histories
    view = widget.preview_view
    assert result is not None and view["state"] == "done" and view["cancelled"] is True
    # Two runs were evaluated before Cancel; nothing was fetched after it.
    assert len(result) == view["runs_total"] == 2 and len(fetched) == 3
    assert view["summary"].startswith("Cancelled after 2 runs")


@pytest.mark.parametrize("seed", range(4))
def test_batches_of_any_size_give_evaluates_fires(
    server: LocalServer, runs: list[str], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(metric_preview, "FIRST_BATCH_POINTS", int(rng.integers(1, 8000)))
    monkeypatch.setattr(metric_preview, "BATCH_POINTS", int(rng.integers(1, 12000)))
    monkeypatch.setattr(metric_preview, "BATCH_RUNS", int(rng.integers(1, 7)))
    rule = RunEvent.metric("loss").mean(5) > 0.6
    widget = builder_for(server)
    policy = ["wandb", "every", "edge", "every"][seed]
    result = widget.preview(policy=policy)  # type: ignore[arg-type]
    expected = evaluate(rule, server.api.histories(runs, ["loss"]), policy=policy)  # type: ignore[arg-type]
    assert result is not None and sorted(result) == sorted(expected)
    for run_id, run in result.items():
        full = expected[run_id]
        assert run.fire_count == full.fire_index.size
        assert run.condition_count == len(full.condition_steps)
        assert run.fire_steps.tolist() == full.fire_steps[: len(run.fire_steps)]
    assert widget.preview_view["fire_count"] == expected.fire_count


def test_clear_messages(server: LocalServer, runs: list[str]) -> None:
    widget = builder_for(server, run_filter_mode="contains", run_filter_value="nothing-matches")
    widget.preview()
    assert widget.preview_view["state"] == "error" and "No runs" in widget.preview_view["message"]
    widget.spec = {**widget.spec, "run_filter_mode": "any", "metric": "never/logged"}
    widget.preview()
    assert "never logged" in widget.preview_view["message"]
    widget.spec = {**widget.spec, "metric": ""}
    widget.preview()
    assert "Fix the form" in widget.preview_view["message"]
    offline = AutomationBuilder(api=server.api, project="preview-proj")
    offline.spec = {**widget.spec, "metric": "loss"}
    offline._api = Api(base_url="http://127.0.0.1:9", api_key="k", max_retries=0, timeout=2)
    offline.preview()
    assert (
        offline.preview_view["state"] == "error" and "Could not" in offline.preview_view["message"]
    )


def test_run_state_preview(server: LocalServer, runs: list[str]) -> None:
    server.api.file_stream("local", "preview-proj", "p0", {"complete": True, "exitcode": 1})
    widget = builder_for(server, event_type="RUN_STATE", states=["FAILED"])
    widget.preview()
    assert widget.preview_view["kind"] == "state"
    assert [m["run_name"] for m in widget.preview_view["matches"]] == ["bert-0"]


def test_minmax_keeps_extremes() -> None:
    y = np.sin(np.linspace(0, 40, 100_000))
    y[51_234] = 9.0
    keep = minmax_indices(y, 400)
    assert keep.size <= 802 and 51_234 in keep and keep[0] == 0 and keep[-1] == y.size - 1


def test_preview_backtests_the_builders_entity_not_the_default(server: LocalServer) -> None:
    api = server.api
    api.create_entity("preview-team")
    api.create_project("team-proj", entity="preview-team")
    run = api.init_run("preview-team/team-proj", run_id="t1", name="team-run")
    run.log([{"loss": 1.0} for _ in range(10)])
    widget = AutomationBuilder(api=api, entity="preview-team", project="team-proj")
    widget.spec = {**widget.spec, "metric": "loss", "window": 5, "threshold": 0.5}
    evaluation = widget.preview()
    assert widget.preview_view["state"] == "done", widget.preview_view
    assert evaluation is not None and list(evaluation) == ["preview-team/team-proj/t1"]
    assert widget.preview_view["fire_count"] == 1


def test_artifact_events_preview_matches_what_the_engine_fired(server: LocalServer) -> None:
    from wandb_auto_widget.automations import ArtifactEvent, DoNothing, OnAddArtifactAlias

    api = server.api
    api.create_entity("artifact-team")
    api.create_project("models", entity="artifact-team")
    first = api.log_artifact("artifact-team/models", "clf", "model")
    (collection,) = api.artifact_collections("artifact-team/models")
    saved = api.create_automation(
        OnAddArtifactAlias(scope=collection, filter=ArtifactEvent.alias.matches_regex("^prod"))
        >> DoNothing(),
        name="prod-alias",
    )
    second = api.log_artifact("artifact-team/models", "clf", "model", aliases=["staging"])
    for artifact, alias in ((first, "prod"), (second, "prod-eu"), (second, "candidate")):
        api.add_artifact_alias(artifact, alias)
    fired = api.automation_history(saved, entity="artifact-team")
    widget = AutomationBuilder(api=api, entity="artifact-team", project="models")
    widget.automation = saved.to_new_automation()
    widget.preview()
    view = widget.preview_view
    assert view["state"] == "done" and view["kind"] == "artifact", view
    assert view["fire_count"] == len(fired) == 2
    # Every alias added, "latest" at each commit included, oldest first.
    assert [(e["alias"], e["version"], e["fires"]) for e in view["events"]] == [
        ("latest", "v0", False),
        ("latest", "v1", False),
        ("staging", "v1", False),
        ("prod", "v0", True),
        ("prod-eu", "v1", True),
        ("candidate", "v1", False),
    ]
    assert {e["collection"] for e in view["events"]} == {"clf"}


def test_sweep_spans_the_current_threshold_and_counts_it_as_the_preview_does(
    server: LocalServer, runs: list[str]
) -> None:
    widget = builder_for(server, threshold=5.0)  # far above every value logged
    widget.preview()
    view = widget.preview_view
    thresholds = [p["threshold"] for p in view["sweep"]]
    assert min(thresholds) <= 0.5 and max(thresholds) >= 5.0 and 5.0 in thresholds
    assert view["sweep_current"] == {"threshold": 5.0, "fires": 0, "runs": 0}
    assert [a["kind"] for a in view["advice"]] == ["never"]
    assert "threshold is 5" in view["advice"][0]["text"]
    widget = builder_for(server, threshold=0.1)
    widget.preview()
    view = widget.preview_view
    assert view["sweep_current"]["fires"] == view["fire_count"] > 0
    kinds = [a["kind"] for a in view["advice"]]
    assert "every-run" in kinds and "warm-up" in kinds, view["advice"]
    assert view["axes"] == {"x": "step", "raw": "loss", "evaluated": "mean of last 5 loss"}


def test_every_step_policy_warns_of_spam(server: LocalServer, runs: list[str]) -> None:
    widget = builder_for(server, threshold=0.1)
    every = widget.preview(policy="every")
    spam = [a for a in widget.preview_view["advice"] if a["kind"] == "spam"]
    capped = evaluate(RunEvent.metric("loss").mean(5) > 0.1, server.api.histories(runs, ["loss"]))
    assert every is not None and every.fire_count > 5 * capped.fire_count
    assert spam and f"would send {capped.fire_count}." in spam[0]["text"], spam


def test_a_first_batch_with_nothing_finite_leaves_the_sweep_empty_not_broken(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_preview, "BATCH_RUNS", 1)
    api = server.api
    api.create_project("nan-first")
    good = api.init_run("local/nan-first", run_id="good", name="good")
    good.log([{"_step": s, "_timestamp": 1.7e9 + s, "m": float(s)} for s in range(50)])
    # Listed first (newest first): a run whose values are all NaN, so nothing to sweep over.
    bad = api.init_run("local/nan-first", run_id="bad", name="bad")
    bad.log([{"_step": s, "_timestamp": 1.7e9 + s, "m": math.nan} for s in range(50)])
    widget = AutomationBuilder(api=api, project="nan-first")
    widget.spec = {**widget.spec, "metric": "m", "window": 5, "threshold": 10}
    result = widget.preview()
    assert result is not None and widget.preview_view["state"] == "done"
    assert result["local/nan-first/good"].fire_count == 1
    assert widget.preview_view["sweep"] == []
