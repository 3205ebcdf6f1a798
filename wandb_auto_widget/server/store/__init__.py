"""SQLite persistence: the only place in the package that speaks SQL.

`db.Database` owns the connections and migrations; each sibling module holds
the reads and writes for one kind of record (runs, history, artifacts,
integrations, triggers, executions, windows).
"""
