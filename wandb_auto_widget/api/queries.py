"""GraphQL documents the client sends. They use W&B's operations and fields, so the same
client works against W&B and against the embedded server."""

from __future__ import annotations

# wandb's TriggerFields: every scope and action W&B returns is asked for (launch-queue and
# ARIA actions, entity scopes included), so that listing never meets an unreadable one.
TRIGGER_FIELDS = """
fragment TriggerFields on Trigger {
  __typename id createdAt updatedAt name description enabled
  scope {
    __typename
    ... on Project { id name }
    ... on ArtifactSequence { id name }
    ... on ArtifactPortfolio { id name }
    ... on Entity { id name entityType }
  }
  event: triggeringCondition {
    __typename ... on FilterEventTriggeringCondition { eventType filter }
  }
  action: triggeredAction {
    __typename
    ... on QueueJobTriggeredAction { queue { id name } template }
    ... on NotificationTriggeredAction {
      integration { __typename ... on SlackIntegration { id teamName channelName } }
      title message severity
    }
    ... on GenericWebhookTriggeredAction {
      integration { __typename ... on GenericWebhookIntegration { id name urlEndpoint } }
      requestPayload
    }
    ... on NoOpTriggeredAction { noOp }
    ... on ARIATriggeredAction { prompt }
  }
}
"""

_ARIA = "    ... on ARIATriggeredAction { prompt }\n"


def with_extension_actions(document: str) -> str:
    """``document`` also asking for the extension actions' fields: for a server that
    advertises EXTENSION_RULES only (W&B has no such type and would refuse the query)."""
    return document.replace(_ARIA, _ARIA + _EXTENSION_ACTIONS)


_EXTENSION_ACTIONS = """    ... on StopRunTriggeredAction { stopRun }
    ... on DigestTriggeredAction {
      integration {
        __typename
        ... on SlackIntegration { id teamName channelName }
        ... on GenericWebhookIntegration { id name urlEndpoint }
      }
      metrics include skipIfEmpty
    }
"""


VIEWER = "query Viewer { viewer { id entity username } }"

PROJECT = """
query GetProject($name: String!, $entity: String!) {
  project(name: $name, entityName: $entity) { id name entityName createdAt }
}
"""

INTEGRATIONS = """
query IntegrationsByEntity($entity: String!, $cursor: String, $perPage: Int) {
  entity(name: $entity) {
    integrations(after: $cursor, first: $perPage) {
      pageInfo { endCursor hasNextPage }
      edges { node {
        __typename
        ... on SlackIntegration { id teamName channelName }
        ... on GenericWebhookIntegration { id name urlEndpoint }
      } }
    }
  }
}
"""

AUTOMATIONS = (
    """
query GetEntityAutomations($entity: String!, $cursor: String, $perPage: Int, $filters: JSONString) {
  scope: entity(name: $entity) {
    triggers(after: $cursor, first: $perPage, filters: $filters) {
      pageInfo { endCursor hasNextPage }
      edges { node { ...TriggerFields } }
    }
  }
}
"""
    + TRIGGER_FIELDS
)

CREATE_AUTOMATION = (
    """
mutation CreateAutomation($input: CreateFilterTriggerInput!) {
  result: createFilterTrigger(input: $input) { trigger { ...TriggerFields } }
}
"""
    + TRIGGER_FIELDS
)

UPDATE_AUTOMATION = (
    """
mutation UpdateAutomation($input: UpdateFilterTriggerInput!) {
  result: updateFilterTrigger(input: $input) { trigger { ...TriggerFields } }
}
"""
    + TRIGGER_FIELDS
)

DELETE_AUTOMATION = """
mutation DeleteAutomation($id: ID!) { result: deleteTrigger(input: {triggerID: $id}) { success } }
"""

RUN_FIELDS = """
fragment RunFields on Run {
  id name displayName state tags createdAt heartbeatAt historyLineCount
  group jobType config summaryMetrics user { username }
}
"""

RUNS = (
    """
query Runs($project: String!, $entity: String!, $cursor: String, $perPage: Int,
           $order: String, $filters: JSONString) {
  project(name: $project, entityName: $entity) {
    runCount(filters: $filters)
    runs(filters: $filters, after: $cursor, first: $perPage, order: $order) {
      edges { node { ...RunFields } cursor }
      pageInfo { endCursor hasNextPage }
    }
  }
}
"""
    + RUN_FIELDS
)

RUN = (
    """
query Run($project: String!, $entity: String!, $name: String!) {
  project(name: $project, entityName: $entity) {
    run(name: $name) { ...RunFields historyKeys }
  }
}
"""
    + RUN_FIELDS
)

HISTORY_PAGE = """
query SampledHistoryPage($entity: String!, $project: String!, $run: String!, $spec: JSONString!) {
  project(name: $project, entityName: $entity) {
    run(name: $run) { sampledHistory(specs: [$spec]) }
  }
}
"""

SERVER_FEATURES = "query ServerFeaturesQuery { serverInfo { features { name isEnabled } } }"

UPSERT_MODEL = """
mutation UpsertModel($input: UpsertModelInput!) {
  upsertModel(input: $input) { project { id name entityName } }
}
"""

UPSERT_BUCKET = """
mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String,
                      $displayName: String, $config: JSONString, $tags: [String!],
                      $state: String, $groupName: String, $jobType: String, $notes: String) {
  upsertBucket(input: {id: $id, name: $name, modelName: $project, entityName: $entity,
                       displayName: $displayName, config: $config, tags: $tags, state: $state,
                       groupName: $groupName, jobType: $jobType, notes: $notes}) {
    bucket { id name displayName historyLineCount historyKeys project { name entity { name } } }
    inserted
  }
}
"""

CREATE_TEAM = """
mutation CreateTeam($name: String!) { createTeam(input: {teamName: $name}) { entity { id name } } }
"""

INSERT_SECRET = """
mutation InsertSecret($entity: String!, $name: String!, $value: String!) {
  insertSecret(input: {entityName: $entity, secretName: $name, secretValue: $value}) { success }
}
"""

CREATE_WEBHOOK = """
mutation CreateGenericWebhookIntegration($input: CreateGenericWebhookIntegrationInput!) {
  createGenericWebhookIntegration(input: $input) {
    integration { __typename ... on GenericWebhookIntegration { id name urlEndpoint } }
  }
}
"""

CREATE_SLACK = """
mutation CreateSlackIntegration($input: CreateSlackIntegrationInput!) {
  createSlackIntegration(input: $input) {
    integration { __typename ... on SlackIntegration { id teamName channelName } }
  }
}
"""

ARTIFACT_FIELDS = """
fragment ArtifactFields on Artifact {
  id digest size versionIndex state metadata createdAt description
  artifactType { name }
  aliases { alias artifactCollection { name } }
  tags { name }
  artifactSequence { name project { name entity { name } } }
}
"""

CREATE_ARTIFACT = """
mutation CreateArtifact($input: CreateArtifactInput!) {
  createArtifact(input: $input) { artifact { id state } }
}
"""

ARTIFACT_BY_ID = (
    """
query ArtifactByID($id: ID!) { artifact(id: $id) { ...ArtifactFields } }
"""
    + ARTIFACT_FIELDS
)

COLLECTION_BY_NAME = """
query ProjectArtifactCollection($entity: String!, $project: String!, $type: String!,
                                $name: String!) {
  project(entityName: $entity, name: $project) {
    artifactType(name: $type) { artifactCollection(name: $name) { __typename id name } }
  }
}
"""

ARTIFACT_MEMBERSHIP = (
    """
query ArtifactMembership($entity: String!, $project: String!, $name: String!) {
  project(name: $project, entityName: $entity) {
    artifactCollectionMembership(name: $name) {
      versionIndex
      aliases { alias }
      artifactCollection { name project { name entity { name } } }
      artifact { ...ArtifactFields }
    }
  }
}
"""
    + ARTIFACT_FIELDS
)

COMMIT_ARTIFACT = """
mutation CommitArtifact($artifactID: ID!) {
  commitArtifact(input: {artifactID: $artifactID}) { artifact { id digest } }
}
"""

LINK_ARTIFACT = """
mutation LinkArtifact($input: LinkArtifactInput!) {
  result: linkArtifact(input: $input) {
    versionIndex
    artifactMembership { artifactCollection { __typename name } }
  }
}
"""

ADD_ALIASES = """
mutation AddAliases($input: AddAliasesInput!) { result: addAliases(input: $input) { success } }
"""

UPDATE_ARTIFACT = (
    """
mutation UpdateArtifact($input: UpdateArtifactInput!) {
  result: updateArtifact(input: $input) { artifact { ...ArtifactFields } }
}
"""
    + ARTIFACT_FIELDS
)

ARTIFACT_COLLECTIONS = """
query ProjectArtifactCollections($entity: String!, $project: String!, $cursor: String) {
  project(name: $project, entityName: $entity) {
    artifactCollections(after: $cursor, first: 100) {
      pageInfo { endCursor hasNextPage }
      edges { node { __typename id name } }
    }
  }
}
"""

ENTITY_PROJECTS = """
query Projects($entity: String, $cursor: String, $perPage: Int) {
  models(entityName: $entity, after: $cursor, first: $perPage) {
    edges { node { id name entityName } }
    pageInfo { endCursor hasNextPage }
  }
}
"""

EXECUTION_FIELDS = """
fragment ExecutionFields on AutomationExecution {
  id automationID automationName eventType event actionType target payload webhookID status
  attempts responseStatus error isTest createdAt finishedAt
  deliveries { attempt at responseStatus error durationMs }
}
"""

AUTOMATION_EXECUTIONS = (
    """
query AutomationExecutions($entity: String!, $automation: ID, $status: String, $first: Int,
                           $cursor: String) {
  entity(name: $entity) {
    automationExecutions(
      automationID: $automation, status: $status, first: $first, after: $cursor
    ) {
      pageInfo { endCursor hasNextPage }
      edges { node { ...ExecutionFields } }
    }
  }
}
"""
    + EXECUTION_FIELDS
)

TEST_AUTOMATION = (
    """
mutation TestAutomation($id: ID!, $sample: JSONString) {
  testTrigger(input: {triggerID: $id, sample: $sample}) { execution { ...ExecutionFields } }
}
"""
    + EXECUTION_FIELDS
)

STOP_RUN = """
mutation StopRun($id: ID!) { stopRun(input: {id: $id}) { success } }
"""

# Ours (feature ARTIFACT_EVENT_HISTORY): recorded artifact events, for previews.
ARTIFACT_EVENT_FIELDS = """
fragment ArtifactEventFields on ArtifactEventRecord {
  eventType createdAt version alias tag aliases collection { __typename name }
}
"""

PROJECT_ARTIFACT_EVENTS = (
    """
query ProjectArtifactEvents($entity: String!, $project: String!, $cursor: String) {
  project(name: $project, entityName: $entity) {
    artifactEvents(after: $cursor, first: 1000) {
      pageInfo { endCursor hasNextPage }
      edges { node { ...ArtifactEventFields } }
    }
  }
}
"""
    + ARTIFACT_EVENT_FIELDS
)

COLLECTION_ARTIFACT_EVENTS = (
    """
query CollectionArtifactEvents($id: ID!, $cursor: String) {
  artifactCollection(id: $id) {
    artifactEvents(after: $cursor, first: 1000) {
      pageInfo { endCursor hasNextPage }
      edges { node { ...ArtifactEventFields } }
    }
  }
}
"""
    + ARTIFACT_EVENT_FIELDS
)
