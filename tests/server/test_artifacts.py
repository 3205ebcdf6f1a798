"""Artifacts on the embedded server: versions, latest, aliases, tags, registry links."""

from __future__ import annotations

import httpx
import pytest

from wandb_auto_widget import Api, LocalServer
from wandb_auto_widget.api import NotFoundError, ValidationError


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
