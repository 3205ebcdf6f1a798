"""Schema migrations, applied in order; ``PRAGMA user_version`` records the last one applied."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: entities, projects, runs and their history
    """
    CREATE TABLE entities (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        entity_type TEXT NOT NULL DEFAULT 'team' CHECK (entity_type IN ('team', 'organization')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (entity_id, name)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        display_name TEXT,
        state TEXT NOT NULL DEFAULT 'running',
        config TEXT NOT NULL DEFAULT '{}',
        summary TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        group_name TEXT,
        job_type TEXT,
        notes TEXT,
        description TEXT,
        exit_code INTEGER,
        history_line_count INTEGER NOT NULL DEFAULT 0,
        last_step INTEGER,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        UNIQUE (project_id, name)
    );
    CREATE TABLE history (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
    ) WITHOUT ROWID;
    CREATE TABLE metric_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    -- Numeric history as columnar chunks: per (run, key), up to CHUNK_SIZE steps,
    -- timestamps and values as little-endian int64/float64 arrays, so that reading a
    -- metric is a few BLOB reads instead of one B-tree row per point.
    CREATE TABLE history_chunks (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key_id INTEGER NOT NULL REFERENCES metric_keys(id),
        first_step INTEGER NOT NULL,
        last_step INTEGER NOT NULL,
        n INTEGER NOT NULL,
        steps BLOB NOT NULL,
        ts BLOB NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY (run_id, key_id, first_step)
    ) WITHOUT ROWID;
    CREATE TABLE run_keys (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key_id INTEGER NOT NULL REFERENCES metric_keys(id),
        type TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (run_id, key_id, type)
    ) WITHOUT ROWID;
    """,
    # 2: secrets, integrations and automations (W&B calls them triggers)
    """
    CREATE TABLE secrets (
        entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (entity_id, name)
    );
    CREATE TABLE integrations (
        id INTEGER PRIMARY KEY,
        entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('slack', 'webhook')),
        name TEXT NOT NULL,
        team_name TEXT,
        channel_name TEXT,
        url TEXT NOT NULL,
        secret_ref TEXT,
        access_token_ref TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        UNIQUE (entity_id, kind, name)
    );
    CREATE TABLE triggers (
        id INTEGER PRIMARY KEY,
        entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        enabled INTEGER NOT NULL,
        scope_type TEXT NOT NULL,
        scope_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        event_filter TEXT NOT NULL,
        action_type TEXT NOT NULL,
        action_config TEXT NOT NULL,
        integration_id INTEGER REFERENCES integrations(id) ON DELETE RESTRICT,
        created_at TEXT NOT NULL,
        updated_at TEXT,
        UNIQUE (entity_id, name)
    );
    """,
    # 3: artifacts: collections (sequences and registry portfolios), versions, aliases, tags
    """
    CREATE TABLE artifact_collections (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        type_name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('sequence', 'portfolio')),
        description TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        UNIQUE (project_id, name)
    );
    CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY,
        sequence_id INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
        version_index INTEGER NOT NULL,
        digest TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'COMMITTED',
        created_by_run INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        UNIQUE (sequence_id, version_index)
    );
    CREATE TABLE artifact_memberships (
        collection_id INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
        artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
        version_index INTEGER NOT NULL,
        PRIMARY KEY (collection_id, artifact_id),
        UNIQUE (collection_id, version_index)
    );
    CREATE TABLE artifact_aliases (
        collection_id INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
        alias TEXT NOT NULL,
        artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
        PRIMARY KEY (collection_id, alias)
    );
    """,
    # 4: the engine. Evaluator state per (automation, run); every firing is an execution,
    # and PENDING executions are the delivery outbox.
    """
    CREATE TABLE evaluator_state (
        trigger_id INTEGER NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (trigger_id, run_id)
    ) WITHOUT ROWID;
    CREATE TABLE executions (
        id INTEGER PRIMARY KEY,
        trigger_id INTEGER REFERENCES triggers(id) ON DELETE SET NULL,
        trigger_name TEXT NOT NULL,
        entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
        event_type TEXT NOT NULL,
        event TEXT NOT NULL,
        action_type TEXT NOT NULL,
        integration_id INTEGER REFERENCES integrations(id) ON DELETE SET NULL,
        target TEXT,
        payload TEXT,
        webhook_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('PENDING', 'FINISHED', 'FAILED')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        response_status INTEGER,
        error TEXT,
        is_test INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX executions_outbox ON executions(status, next_attempt_at);
    CREATE INDEX executions_by_trigger ON executions(trigger_id, id);
    CREATE TABLE delivery_attempts (
        execution_id INTEGER NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at TEXT NOT NULL,
        response_status INTEGER,
        error TEXT,
        duration_ms REAL,
        PRIMARY KEY (execution_id, attempt)
    ) WITHOUT ROWID;
    """,
    # 5: artifacts as the wandb SDK logs them: created PENDING, given files and a manifest,
    # then committed. The version index is assigned at commit, so it becomes nullable; SQLite
    # cannot drop NOT NULL in place, hence the rebuild (db.py turns foreign keys off around
    # migrations, as https://www.sqlite.org/lang_altertable.html#otheralter prescribes).
    """
    CREATE TABLE artifacts_v5 (
        id INTEGER PRIMARY KEY,
        sequence_id INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
        version_index INTEGER,
        digest TEXT NOT NULL,
        digest_algorithm TEXT,
        description TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL DEFAULT 'COMMITTED' CHECK (state IN ('PENDING', 'COMMITTED')),
        pending_aliases TEXT NOT NULL DEFAULT '[]',
        history_step INTEGER,
        size INTEGER NOT NULL DEFAULT 0,
        file_count INTEGER NOT NULL DEFAULT 0,
        created_by_run INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT,
        UNIQUE (sequence_id, version_index)
    );
    INSERT INTO artifacts_v5(
        id, sequence_id, version_index, digest, metadata, tags, state, created_by_run, created_at
    )
    SELECT id, sequence_id, version_index, digest, metadata, tags, state, created_by_run,
           created_at
    FROM artifacts;
    DROP TABLE artifacts;
    ALTER TABLE artifacts_v5 RENAME TO artifacts;
    CREATE INDEX artifacts_by_digest ON artifacts(sequence_id, digest);
    """,
    # 6: the engine keeps one set of running windows per (run, metric), shared by every
    # automation on that metric (preview.windows.Windows, in binary); each automation keeps
    # only its fire-policy state in evaluator_state. Window contents saved in the old
    # per-automation format are not carried over (windows refill from the next values); the
    # policy state is, so an upgrade never fires twice.
    """
    CREATE TABLE metric_windows (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        metric TEXT NOT NULL,
        state BLOB NOT NULL,
        PRIMARY KEY (run_id, metric)
    ) WITHOUT ROWID;
    UPDATE evaluator_state SET state = json_array(
        CASE WHEN json_extract(state, '$.last_condition') THEN json('true') ELSE json('false') END,
        json_extract(state, '$.last_fire_ts')
    )
    """,
    # 7: artifact lineage: which runs used which versions (W&B's useArtifact).
    """
    CREATE TABLE artifact_uses (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        artifact_id INTEGER NOT NULL REFERENCES artifacts(id) ON DELETE CASCADE,
        used_as TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, artifact_id)
    ) WITHOUT ROWID;
    """,
    # 8: every artifact event (created, linked, alias or tag added...), kept whether or not
    # an automation fired on it, so that artifact automations can be backtested. Versions
    # committed before this migration get their "created" events back from the artifacts.
    """
    CREATE TABLE artifact_events (
        id INTEGER PRIMARY KEY,
        event_type TEXT NOT NULL,
        collection_id INTEGER NOT NULL REFERENCES artifact_collections(id) ON DELETE CASCADE,
        artifact_id INTEGER REFERENCES artifacts(id) ON DELETE SET NULL,
        version TEXT,
        alias TEXT,
        tag TEXT,
        aliases TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL
    );
    CREATE INDEX artifact_events_by_collection ON artifact_events(collection_id, id);
    INSERT INTO artifact_events(event_type, collection_id, artifact_id, version, created_at)
    SELECT 'CREATE_ARTIFACT', sequence_id, id, 'v' || version_index, created_at
    FROM artifacts WHERE state = 'COMMITTED' ORDER BY created_at, id;
    """,
    # 9: stalled runs. When the server last accepted a history row of each run (its clock, in
    # epoch seconds; runs logged before this migration count from their last heartbeat), and
    # the open stalls: one per automation and run, for the silence that began at ``since``.
    """
    ALTER TABLE runs ADD COLUMN history_at REAL;
    UPDATE runs SET history_at = unixepoch(heartbeat_at) WHERE history_line_count > 0;
    CREATE TABLE stalls (
        trigger_id INTEGER NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        since REAL NOT NULL,
        fired_at REAL NOT NULL,
        PRIMARY KEY (trigger_id, run_id)
    );
    CREATE INDEX stalls_by_run ON stalls(run_id);
    """,
    # 10: schedules. Per scheduled automation: the filter its next time was computed for (an
    # edit reschedules), when it next fires, and where the period of its next digest begins.
    """
    CREATE TABLE schedules (
        trigger_id INTEGER PRIMARY KEY REFERENCES triggers(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,
        next_at REAL NOT NULL,
        period_start REAL NOT NULL
    );
    """,
    # 11: the watcher (wandb-auto-widget watch). Each W&B run it follows is mirrored as a local
    # run; per mirror, what was last seen on W&B, and whether a stop was passed on to W&B.
    """
    CREATE TABLE watched_runs (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        line_count INTEGER NOT NULL,
        state TEXT NOT NULL,
        stop_sent INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE watched_projects (
        path TEXT PRIMARY KEY,
        last_poll REAL
    );
    """,
]
