"""One run-filter semantics: the runs the engine (and ``runs(filters:)``) matches are exactly
the runs the builder's preview matches, for random filters over every field W&B's run filters
use (name, display name, state, tags, config, summary, user, created time, group, job type)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import ValidationError
from wandb_auto_widget.automations.filters import parse_filter
from wandb_auto_widget.preview import check_run_filter, matches_run_filter
from wandb_auto_widget.widget.preview import _run_fields

ENTITY, PROJECT = "filters-team", "semantics"
RUNS = [
    # id, display name, state, tags, config, summary, group, job type
    (
        "a1",
        "bert-base",
        "finished",
        ["nlp", "base"],
        {"lr": 0.01, "layers": 12},
        {"acc": 0.9},
        "g1",
        "train",
    ),
    (
        "a2",
        "bert-large",
        "failed",
        ["nlp"],
        {"lr": 0.001, "layers": 24},
        {"acc": 0.4},
        "g1",
        "train",
    ),
    ("a3", "resnet", "running", [], {"lr": 0.1, "opt": {"name": "sgd"}}, {}, "g2", "eval"),
    ("a4", "gpt-2", "crashed", ["lm"], {"lr": "auto"}, {"acc": "n/a", "loss": 2.5}, None, None),
    ("a5", "Bert-tiny", "finished", ["nlp", "tiny"], {}, {"acc": 0.95, "loss": 0.1}, "g2", "train"),
]
FIELDS = [
    "name",
    "display_name",
    "displayName",
    "state",
    "tags",
    "group",
    "jobType",
    "username",
    "createdAt",
    "config.lr",
    "config.lr.value",
    "config.layers",
    "config.opt.name",
    "summary_metrics.acc",
    "summary_metrics.loss",
    "missing",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "bert",
            "bert-base",
            "finished",
            "failed",
            "nlp",
            "g1",
            "train",
            "sgd",
            "auto",
            "filters-team",
            "a3",
            "2000-01-01T00:00:00",
            "n/a",
            "",
        ]
    ),
    st.sampled_from([0.01, 0.001, 0.1, 12, 24, 0.9, 0.4, 0.95, 2.5, 0, 1, True]),
)
OPERATORS = [
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$contains",
    "$regex",
    "$in",
    "$nin",
    "$exists",
]


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(OPERATORS))
    if op in ("$in", "$nin"):
        value: Any = draw(st.lists(VALUES, max_size=3))
    elif op == "$exists":
        value = draw(st.booleans())
    elif op in ("$contains", "$regex"):
        value = draw(st.sampled_from(["bert", "^bert", "-", "ert$", "[Bb]ert", "nlp", ""]))
    else:
        value = draw(VALUES)
    return {field: {op: value}} if draw(st.booleans()) or op != "$eq" else {field: value}


filters = st.recursive(
    conditions(),
    lambda inner: st.one_of(
        st.builds(
            lambda k, xs: {k: xs},
            st.sampled_from(["$and", "$or", "$nor"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
    ),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = Path(tmp_path_factory.mktemp("semantics")) / "semantics.db"
    with LocalServer(db=db) as server:
        api = server.api
        api.create_entity(ENTITY)
        api.create_project(PROJECT, entity=ENTITY)
        for run_id, name, state, tags, config, summary, group, job in RUNS:
            run = api.init_run(
                f"{ENTITY}/{PROJECT}",
                run_id=run_id,
                name=name,
                config=config,
                tags=tags,
                group=group,
                job_type=job,
            )
            if summary:
                run.log(summary)
            api.set_run_state(run.path, state)
        yield api


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flt=filters)
def test_engine_and_preview_match_the_same_runs(seeded: Api, flt: dict[str, Any]) -> None:
    listed = seeded.runs(f"{ENTITY}/{PROJECT}")
    try:
        expr = parse_filter(flt)
        check_run_filter(expr)
    except ValueError:
        with pytest.raises(ValidationError, match="filters"):
            seeded.runs(f"{ENTITY}/{PROJECT}", flt)
        return
    preview = sorted(r.name for r in listed if matches_run_filter(expr, _run_fields(r)))
    engine = sorted(r.name for r in seeded.runs(f"{ENTITY}/{PROJECT}", flt))
    assert preview == engine, flt


def test_the_fields_cover_what_w_and_b_filters_use(seeded: Api) -> None:
    (run,) = [r for r in seeded.runs(f"{ENTITY}/{PROJECT}") if r.name == "a3"]
    fields = _run_fields(run)
    assert fields["config.opt.name"] == "sgd" and fields["config.lr.value"] == 0.1
    assert fields["username"] == "local" and fields["group"] == "g2"
    assert fields["jobType"] == "eval" and fields["state"] == "running"
    assert fields["createdAt"] and not fields["createdAt"].endswith("Z")
    cases = {
        '{"config.layers": {"$gt": 12}}': ["a2"],
        '{"summary_metrics.acc": {"$gte": 0.9}}': ["a1", "a5"],
        '{"tags": "nlp", "jobType": "train"}': ["a1", "a2", "a5"],
        '{"display_name": {"$regex": "^[Bb]ert"}}': ["a1", "a2", "a5"],
        '{"username": "local", "group": "g2"}': ["a3", "a5"],
    }
    import json

    for text, expected in cases.items():
        assert sorted(r.name for r in seeded.runs(f"{ENTITY}/{PROJECT}", json.loads(text))) == (
            expected
        ), text
