"""Artifacts on the embedded server: versions, latest, aliases, tags, registry links."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import NotFoundError, ValidationError
from wandb_auto_widget.server import Database
from wandb_auto_widget.server.store.migrations import MIGRATIONS


def test_versions_aliases_tags_and_links(api: Api, project_name: str) -> None:
    api.create_project(project_name)
    path = f"local/{project_name}"
    v0 = api.log_artifact(path, "model", "model", aliases=["best"], metadata={"acc": 0.9})
    v1 = api.log_artifact(path, "model", "model")
    assert (v0.version, v1.version) == ("v0", "v1")
    assert set(v0.aliases) == {"best", "latest"} and v0.metadata == {"acc": 0.9}
    assert v1.aliases == ["latest"]  # "latest" moved to the new version

    api.add_artifact_alias(v0, "prod")
    api.add_artifact_tag(v0, "europe")
    collections = api.artifact_collections(path)
    assert [(c.name, c.is_sequence()) for c in collections] == [("model", True)]

    portfolio = api.link_artifact(
        v1, f"local/wandb-registry-{project_name}/production", aliases=["staging"]
    )
    assert not portfolio.is_sequence()
    assert f"wandb-registry-{project_name}" in [r.name for r in api.registries()]
    linked = api.artifact_collections(f"local/wandb-registry-{project_name}")
    assert [c.name for c in linked] == ["production"]


def test_artifact_bad_input(server: LocalServer, api: Api, project_name: str) -> None:
    api.create_project(project_name)
    with pytest.raises(ValidationError, match="artifactTypeName"):
        api.log_artifact(f"local/{project_name}", "model", "bad type!")
    with pytest.raises(ValidationError, match="alias"):
        v0 = api.log_artifact(f"local/{project_name}", "model", "model")
        api.add_artifact_alias(v0, "no/slashes")
    response = httpx.post(
        f"{server.base_url}/graphql",
        auth=("api", server.api_key),
        json={
            "query": 'mutation { linkArtifact(input: {artifactID: "QXJ0aWZhY3Q6OTk5", '
            'artifactPortfolioName: "x"}) { versionIndex } }'
        },
    )
    assert response.status_code == 404 and "artifactID" in response.json()["errors"][0]["message"]


def test_unknown_entity_and_bad_run_filters(api: Api, project_name: str) -> None:
    with pytest.raises(NotFoundError, match="nobody"):
        api.integrations("nobody")
    with pytest.raises(NotFoundError):
        api.runs(f"nobody/{project_name}")
    api.create_project(project_name)
    with pytest.raises(ValidationError, match="filters"):
        api.runs(f"local/{project_name}", filters={"$bogus": 1})


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_sdk_upload_protocol_checks_what_it_stores(server: LocalServer, project_name: str) -> None:
    """The createArtifact -> files -> manifest -> commit sequence wandb-core runs, driven by
    hand, with the mistakes a broken client could make."""

    def gql(query: str, **variables: object) -> dict[str, Any]:
        response = httpx.post(
            f"{server.base_url}/graphql",
            auth=("api", server.api_key),
            json={"query": query, "variables": variables},
        )
        return response.json()  # type: ignore[no-any-return]

    create = gql(
        "mutation ($input: CreateArtifactInput!) { createArtifact(input: $input) "
        "{ artifact { id state versionIndex } } }",
        input={
            "entityName": "local",
            "projectName": project_name,
            "artifactTypeName": "dataset",
            "artifactCollectionName": "data",
            "digest": "d1",
            "enableDigestDeduplication": True,
            "aliases": [{"artifactCollectionName": "data", "alias": "raw"}],
        },
    )["data"]["createArtifact"]["artifact"]
    assert (create["state"], create["versionIndex"]) == ("PENDING", None)
    files = (
        "mutation ($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) "
        "{ files { edges { node { uploadUrl artifact { id } } } } } }"
    )
    spec = {"artifactID": create["id"], "name": "a.txt", "md5": _md5(b"hello")}
    node = gql(files, input={"artifactFiles": [spec]})["data"]["createArtifactFiles"]["files"]
    url = node["edges"][0]["node"]["uploadUrl"]
    assert node["edges"][0]["node"]["artifact"]["id"] == create["id"]
    wrong = httpx.put(url, content=b"tampered")
    assert wrong.status_code == 400 and "MD5" in wrong.json()["errors"][0]["message"]
    assert httpx.put(url, content=b"hello").status_code == 200
    again = gql(files, input={"artifactFiles": [spec]})["data"]["createArtifactFiles"]
    assert again["files"]["edges"][0]["node"]["uploadUrl"] is None  # stored: skip the upload

    def upload_manifest(contents: dict[str, Any]) -> None:
        body = json.dumps({"version": 1, "contents": contents}).encode()
        manifest = gql(
            "mutation ($id: ID!, $digest: String!) { createArtifactManifest(input: "
            '{artifactID: $id, name: "wandb_manifest.json", digest: $digest, '
            f'entityName: "local", projectName: "{project_name}", runName: "r"}}) '
            "{ artifactManifest { file { uploadUrl } } } }",
            id=create["id"],
            digest=_md5(body),
        )["data"]["createArtifactManifest"]["artifactManifest"]
        assert httpx.put(manifest["file"]["uploadUrl"], content=body).status_code == 200

    commit = (
        "mutation ($id: ID!) { commitArtifact(input: {artifactID: $id}) "
        "{ artifact { state versionIndex size fileCount aliases { alias } } } }"
    )
    upload_manifest(
        {
            "a.txt": {"digest": _md5(b"hello"), "size": 5},
            "b.txt": {"digest": _md5(b"never sent"), "size": 10},
        }
    )
    refused = gql(commit, id=create["id"])
    assert "manifest.contents['b.txt']" in refused["errors"][0]["message"]
    link = gql(
        "mutation ($id: ID!) { linkArtifact(input: {artifactID: $id, "
        'artifactPortfolioName: "x"}) { versionIndex } }',
        id=create["id"],
    )
    assert "still being logged" in link["errors"][0]["message"]

    upload_manifest({"a.txt": {"digest": _md5(b"hello"), "size": 5}})
    done = gql(commit, id=create["id"])["data"]["commitArtifact"]["artifact"]
    assert (done["state"], done["versionIndex"], done["size"], done["fileCount"]) == (
        "COMMITTED",
        0,
        5,
        1,
    )
    assert sorted(a["alias"] for a in done["aliases"]) == ["latest", "raw"]
    manifest = gql(
        "query ($id: ID!) { artifact(id: $id) { currentManifest { file { directUrl } } } }",
        id=create["id"],
    )["data"]["artifact"]["currentManifest"]["file"]["directUrl"]
    assert list(httpx.get(manifest).json()["contents"]) == ["a.txt"]
    # A download URL cannot write, and a tampered one reads nothing.
    assert httpx.put(manifest.replace("/download/", "/upload/"), content=b"{}").status_code == 403
    assert httpx.get(manifest[:-3] + "xyz").status_code == 403
    mismatch = gql(
        "mutation ($input: CreateArtifactInput!) { createArtifact(input: $input) "
        "{ artifact { id } } }",
        input={
            "entityName": "local",
            "projectName": project_name,
            "artifactTypeName": "model",
            "artifactCollectionName": "data",
        },
    )
    assert "artifactTypeName" in mismatch["errors"][0]["message"]


def test_migration_keeps_artifacts_and_their_links(db_path: Path) -> None:
    """Migration 5 rebuilds the artifacts table; versions, memberships and aliases survive."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA foreign_keys=ON")
    for script in MIGRATIONS[:4]:
        conn.executescript(script)
    conn.executescript(
        """
        PRAGMA user_version=4;
        INSERT INTO entities(id, name, created_at) VALUES (1, 'local', 'now');
        INSERT INTO projects(id, entity_id, name, created_at) VALUES (1, 1, 'p', 'now');
        INSERT INTO artifact_collections(id, project_id, name, type_name, kind, created_at)
            VALUES (1, 1, 'model', 'model', 'sequence', 'now');
        INSERT INTO artifacts(id, sequence_id, version_index, digest, created_at)
            VALUES (7, 1, 0, 'abc', 'now');
        INSERT INTO artifact_memberships VALUES (1, 7, 0);
        INSERT INTO artifact_aliases VALUES (1, 'latest', 7);
        """
    )
    conn.close()
    db = Database(db_path)
    read = db.read()
    assert db.schema_version == len(MIGRATIONS)
    row = read.execute("SELECT id, version_index, state, digest FROM artifacts").fetchone()
    assert tuple(row) == (7, 0, "COMMITTED", "abc")
    assert read.execute("SELECT COUNT(*) FROM artifact_memberships").fetchone()[0] == 1
    assert read.execute("SELECT artifact_id FROM artifact_aliases").fetchone()[0] == 7
    with db.write() as write:
        assert write.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError), db.write() as write:  # still enforced
        write.execute("INSERT INTO artifact_aliases VALUES (1, 'x', 999)")
    db.close()


def test_wandb_fallback_download_route_serves_stored_content(server: LocalServer) -> None:
    """wandb GETs /artifactsV2/<region>/<entity>/<project>/<collection>/[<id>/]<birth id>/
    <md5>/<name> with its API key when it holds no signed URL for a file."""
    content = b"weights"
    digest = base64.b64encode(hashlib.md5(content).digest()).decode()
    store = server.db_path.parent / "files" / "artifacts" / "objects"
    store.mkdir(parents=True, exist_ok=True)
    (store / hashlib.md5(content).hexdigest()).write_bytes(content)
    hex_md5 = hashlib.md5(content).hexdigest()
    auth = ("api", server.api_key)
    for path in (
        f"/artifactsV2/default/local/p/model/QXJ0aWZhY3Q6MQ==/{hex_md5}/model.bin",
        f"/artifactsV2/default/local/p/model/QXJ0aWZhY3Q6Mg==/QXJ0aWZhY3Q6MQ==/{hex_md5}/model.bin",
        f"/artifacts/local/{hex_md5}",
    ):
        got = httpx.get(server.base_url + path, auth=auth)
        assert got.status_code == 200 and got.content == content, (path, got.text)
        assert httpx.get(server.base_url + path).status_code == 401
    missing = httpx.get(f"{server.base_url}/artifacts/local/{'0' * 32}", auth=auth)
    assert missing.status_code == 404 and digest
    bad = httpx.get(f"{server.base_url}/artifacts/local/..%2F..%2Flocal.db", auth=auth)
    assert bad.status_code == 404
