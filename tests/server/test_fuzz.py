"""Property-based fuzzing of every route of a real server on loopback.

GraphQL documents come from the server's own schema (hypothesis-graphql: every query and
mutation, valid ones and ones with a schema violation), with hostile values for the custom
scalars; file_stream, /history/columns and the signed-URL routes get bodies of our own.
Each test is seeded (derandomized) and bounded in examples, so ``make test`` stays fast
and finds the same things on every run.

Every response must be: below 500, JSON, and free of "internal error"; the server must
still answer afterwards. file_stream is also checked against a model: accepted data reads
back exactly, and a rejected batch writes nothing.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    ArgumentNode,
    DocumentNode,
    ObjectFieldNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    print_ast,
    visit,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from wandb_auto_widget import LocalServer
from wandb_auto_widget.automations import DoNothing, OnRunMetric, RunEvent
from wandb_auto_widget.server.gql.resolvers import build_schema

FUZZ = settings(
    derandomize=True,  # seeded: the same requests on every run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
SENT = {"requests": 0}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server with a little of everything, so that generated requests meet real data."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with LocalServer(db=db, api_key="fuzz-key-" + "0" * 31) as server:
        api = server.api
        project = api.create_project("p")
        run = api.init_run("local/p", run_id="r", config={"lr": 0.1}, tags=["a"])
        run.log([{"loss": 1.0 / (i + 1), "acc": i / 10} for i in range(20)])
        api.create_webhook_integration("hook", "http://127.0.0.1:9/never")
        api.create_automation(
            OnRunMetric(scope=project, filter=RunEvent.metric("loss") < 0.1) >> DoNothing(),
            name="fuzz-automation",
        )
        api.log_artifact("local/p", "model", "model", aliases=["best"])
        yield server


def check(response: httpx.Response) -> Any:
    """The properties every answer must have; returns its JSON."""
    SENT["requests"] += 1
    assert response.status_code < 500, response.text[:1000]
    body = response.json() if response.content else None
    assert "internal error" not in response.text, response.text[:1000]
    return body


def post_graphql(server: LocalServer, payload: Any) -> Any:
    return check(
        httpx.post(
            f"{server.base_url}/graphql",
            content=payload if isinstance(payload, bytes) else json.dumps(payload),
            auth=("api", server.api_key),
            timeout=30,
        )
    )


# ---------------------------------------------------------------------------- values

finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63), 1e20, 1e300]),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["local", "p", "r", "model", "loss", "(a+)+$", "", "../x", "é", "\x00"]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, texts),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                texts,
                st.sampled_from(
                    ["$and", "$or", "$regex", "$in", "$gt", "$exists", "display_name", "state"]
                ),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


FIELDS = ["display_name", "name", "state", "tags", "config.lr", "summary_metrics.loss", "alias"]
OPERATORS = ["$eq", "$ne", "$in", "$nin", "$gt", "$lt", "$regex", "$contains", "$exists", "$x"]
filter_docs = st.recursive(
    st.one_of(
        st.builds(
            lambda f, o, v: {f: {o: v}},
            st.sampled_from(FIELDS),
            st.sampled_from(OPERATORS),
            json_values,
        ),
        st.builds(lambda f, v: {f: v}, st.sampled_from(FIELDS), json_values),
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda k, xs: {k: xs},
            st.sampled_from(["$and", "$or", "$nor"]),
            st.lists(inner, max_size=3),
        ),
        st.builds(lambda x: {"$not": x}, inner),
    ),
    max_leaves=6,
)


def _json_text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


SCALARS = {
    "JSONString": st.one_of(
        json_values.map(_json_text), filter_docs.map(_json_text), st.text(max_size=20)
    ).map(nodes.String),
    "JSON": st.one_of(
        st.integers(min_value=-(2**40), max_value=2**40).map(nodes.Int),
        finite.map(nodes.Float),
        st.text(max_size=20).map(nodes.String),
    ),
    "Int64": st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(nodes.Int),
        st.sampled_from([1e20, 1e300, 0.5]).map(nodes.Float),
    ),
    "Duration": st.one_of(
        st.sampled_from(["60s", "nan", "1e20", "-5", "5m", "x"]).map(nodes.String),
        st.integers(min_value=-(2**70), max_value=2**70).map(nodes.Int),
    ),
    "DateTime": st.text(max_size=25).map(nodes.String),
}
SCHEMA = build_schema()


# ---------------------------------------------------------------------------- GraphQL


class _Realistic(Visitor):
    """Points generated ids and names at the seeded data (with probability 3/4), so that
    requests get past "not found" into the code that does the work."""

    def __init__(self, info: TypeInfo, ids: list[str], draw: st.DataObject) -> None:
        super().__init__()
        self.info, self.ids, self.draw = info, ids, draw

    def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
        return self._swap(node, node.name.value)

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> Any:
        return self._swap(node, node.name.value)

    def _swap(self, node: Any, name: str) -> Any:
        kind = get_named_type(self.info.get_input_type())
        if not isinstance(node.value, StringValueNode) or kind is None:
            return None
        if self.draw.draw(st.integers(min_value=0, max_value=3)) == 0:
            return None
        if kind.name == "ID":
            pool = self.ids + FORGED_IDS
        elif kind.name == "String" and "name" in name.lower():
            pool = NAMES
        else:
            return None
        value = self.draw.draw(st.sampled_from(pool))
        return node.__class__(name=node.name, value=StringValueNode(value=value))


FORGED_IDS = [
    base64.b64encode(text.encode()).decode()
    for text in ("Trigger:99999999999999999999999", "Run:-1", "Project:0", "Nope:1", "Run:x")
]
NAMES = ["local", "p", "r", "model", "hook", "fuzz-automation", "wandb-registry-model"]


@pytest.fixture(scope="module")
def seeded_ids(target: LocalServer) -> list[str]:
    api = target.api
    ids = [api.project("p").id, api.run("local/p/r").id, api.automation("fuzz-automation").id]
    ids += [i.id for i in api.integrations()]
    ids.append(api.artifact("local/p/model:best").id)
    ids += [c.id for c in api.artifact_collections("local/p")]
    return ids


ROOT_FIELDS = [*SCHEMA.query_type.fields, *SCHEMA.mutation_type.fields]  # type: ignore[union-attr]


@pytest.mark.parametrize("root", ROOT_FIELDS)
def test_every_query_and_mutation_answers_without_a_server_error(
    target: LocalServer, seeded_ids: list[str], root: str
) -> None:
    """Each root field on its own, so that every resolver gets its share of examples."""
    examples = 30 if root in SCHEMA.query_type.fields else 15  # type: ignore[union-attr]
    documents = from_schema(SCHEMA, fields=[root], custom_scalars=SCALARS, print_ast=lambda d: d)

    @settings(FUZZ, max_examples=examples)
    @given(document=documents, data=st.data())
    def run(document: DocumentNode, data: st.DataObject) -> None:
        info = TypeInfo(SCHEMA)
        realistic = visit(document, TypeInfoVisitor(info, _Realistic(info, seeded_ids, data)))
        post_graphql(target, {"query": print_ast(realistic)})

    run()


@settings(FUZZ, max_examples=150)
@given(
    document=from_schema(SCHEMA, custom_scalars=SCALARS, print_ast=print_ast, mode=Mode.NEGATIVE)
)
def test_documents_that_break_the_schema_get_a_client_error(
    target: LocalServer, document: str
) -> None:
    body = post_graphql(target, {"query": document})
    assert body is not None and body.get("errors"), body


@settings(FUZZ, max_examples=150)
@given(
    payload=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"query": st.text(max_size=200)},
            optional={"variables": json_values, "operationName": json_values},
        ),
    )
)
def test_malformed_graphql_bodies_get_a_client_error(target: LocalServer, payload: Any) -> None:
    post_graphql(target, payload)


RUNS_QUERY = (
    'query($f: JSONString, $o: String, $n: Int) { project(name: "p", entityName: "local") '
    "{ runs(filters: $f, order: $o, first: $n) { edges { node { name summaryMetrics } } } } }"
)


@settings(FUZZ, max_examples=150)
@given(
    filters=st.one_of(json_values.map(_json_text), st.text(max_size=30)),
    order=st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["-created_at", "+name"])),
    first=st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1)),
)
def test_run_filters_of_any_shape(
    target: LocalServer, filters: str, order: str | None, first: int | None
) -> None:
    post_graphql(target, {"query": RUNS_QUERY, "variables": {"f": filters, "o": order, "n": first}})


# ---------------------------------------------------------------------------- file_stream


history_values = st.one_of(
    finite,
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)


def _line(draw: st.DrawFn) -> str:
    kind = draw(st.integers(min_value=0, max_value=9))
    if kind == 0:
        return draw(st.text(max_size=20))  # not JSON
    if kind == 1:
        return json.dumps(draw(json_values))  # JSON, but not a row
    row: dict[str, Any] = {"_step": draw(st.integers(min_value=-3, max_value=40))}
    if draw(st.booleans()):
        row["_timestamp"] = draw(st.one_of(finite, st.just(1.7e9), st.text(max_size=3)))
    row.update(draw(st.dictionaries(st.sampled_from(["x", "y", "a/b"]), history_values)))
    return json.dumps(row, allow_nan=True)


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        body: dict[str, Any] = {}
        if draw(st.integers(min_value=0, max_value=5)):
            offset = draw(
                st.one_of(
                    st.integers(min_value=0, max_value=8),
                    st.sampled_from([-1, 2**63, 2**70]),
                    st.text(max_size=2),
                )
            )
            content = [_line(draw) for _ in range(draw(st.integers(min_value=0, max_value=4)))]
            body["files"] = {"wandb-history.jsonl": {"offset": offset, "content": content}}
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            body["files"] = draw(json_values)
        if draw(st.integers(min_value=0, max_value=8)) == 0:
            body["complete"], body["exitcode"] = True, draw(st.one_of(numbers, texts))
        out.append(body)
    return out


def _read_rows(server: LocalServer, run: str) -> list[dict[str, Any]]:
    data = post_graphql(
        server,
        {
            "query": f'{{ project(name: "fs", entityName: "local") {{ run(name: "{run}") '
            "{ history historyLineCount } } }",
        },
    )["data"]["project"]["run"]
    return [json.loads(text) for text in data["history"]]  # accepts NaN, as wandb does


def _accepted(model: dict[str, Any], body: dict[str, Any]) -> None:
    """What the server must have stored when it accepted ``body``: the model of W&B's rules."""
    chunk = (body.get("files") or {}).get("wandb-history.jsonl")
    if chunk is None:
        return
    fresh = chunk["content"][model["lines"] - chunk["offset"] :]
    for line in fresh:
        row = json.loads(line)
        if model["last"] is None or row["_step"] > model["last"]:
            model["last"] = row["_step"]
            model["rows"].append(row)
    model["lines"] += len(fresh)


def _same(stored: dict[str, Any], logged: dict[str, Any]) -> bool:
    if set(stored) - {"_timestamp"} != set(logged) - {"_timestamp"}:
        return False
    for key, value in logged.items():
        if key == "_timestamp" and not isinstance(value, (int, float)):
            continue
        other = stored[key]
        if isinstance(value, float) and math.isnan(value):
            if not (isinstance(other, float) and math.isnan(other)):
                return False
        elif other != value:
            return False
    return True


@settings(FUZZ, max_examples=40)
@given(sequence=batches())
def test_file_stream_stores_exactly_what_it_accepts(
    target: LocalServer, sequence: list[dict[str, Any]]
) -> None:
    api = target.api
    api.create_project("fs")
    name = f"run{SENT['requests']}"
    api.init_run("local/fs", run_id=name)
    model: dict[str, Any] = {"lines": 0, "last": None, "rows": []}
    for body in sequence:
        response = httpx.post(
            f"{target.base_url}/files/local/fs/{name}/file_stream",
            content=json.dumps(body, allow_nan=True),
            auth=("api", target.api_key),
            timeout=30,
        )
        check(response)
        if response.status_code == 200:
            _accepted(model, body)
        else:
            assert response.status_code in (400, 404, 413), response.text
    stored = _read_rows(target, name)
    assert len(stored) == len(model["rows"])
    assert all(_same(s, m) for s, m in zip(stored, model["rows"], strict=True)), (stored, model)


# ---------------------------------------------------------------------------- other routes


@settings(FUZZ, max_examples=80)
@given(body=json_values)
def test_history_columns_with_any_body(target: LocalServer, body: Any) -> None:
    check(
        httpx.post(
            f"{target.base_url}/history/columns",
            content=json.dumps(body),
            auth=("api", target.api_key),
            timeout=30,
        )
    )


@settings(FUZZ, max_examples=60)
@given(
    token=st.one_of(st.text(max_size=60), st.sampled_from(["e30.x", "x.y.z", "", "..", "%2e%2e"])),
    method=st.sampled_from(["PUT", "GET"]),
)
def test_signed_url_routes_with_any_token(target: LocalServer, token: str, method: str) -> None:
    route = "upload" if method == "PUT" else "download"
    try:
        response = httpx.request(
            method, f"{target.base_url}/files/{route}/{token}", content=b"data", timeout=30
        )
    except httpx.InvalidURL:
        return  # the client would not send it
    check(response)
    assert response.status_code in (400, 403, 404, 405), response.text


def test_the_server_still_answers_and_reports_what_was_sent(target: LocalServer) -> None:
    viewer = post_graphql(target, {"query": "{ viewer { entity } }"})
    assert viewer["data"]["viewer"]["entity"] == "local"
    print(f"fuzz: {SENT['requests']} requests sent")
    assert SENT["requests"] >= 1200


def test_fuzz_database_is_intact(target: LocalServer, tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(target.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
