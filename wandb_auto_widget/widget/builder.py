"""``AutomationBuilder``: the notebook widget that builds, validates, previews and saves."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..api import Api, ApiError
from ..automations import Automation, NewAutomation
from ..automations.extensions import FEATURE as EXTENSION_FEATURE
from ..preview.policy import PolicyLike
from . import spec as spec_module
from .backtest import Backtest
from .connection import connect
from .preview import PreviewError, run_preview
from .server_errors import field_of
from .variables import template_variables

if TYPE_CHECKING:
    from ..server.watcher import Watcher

log = logging.getLogger("wandb_auto_widget.widget")
STATIC = Path(__file__).parent.parent / "static"


class AutomationBuilder(anywidget.AnyWidget):
    """Build a W&B automation in a form, see its code, and save it.

    ``AutomationBuilder(api=None, entity=None, project=None, automation=None)``. Without an
    ``api`` it connects to W&B when credentials are configured, and otherwise to the embedded
    local server. Pass ``automation=`` (or assign ``builder.automation``) to edit one;
    read ``builder.automation`` to get the ``NewAutomation`` the form describes.
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    spec = traitlets.Dict().tag(sync=True)
    """The form's state: one flat JSON object (see widget/spec.py)."""
    errors = traitlets.Dict().tag(sync=True)
    """Validation errors keyed by form field; empty when the form is valid."""
    options = traitlets.Dict().tag(sync=True)
    """Choices from the API: projects, collections, integrations, metric names."""
    status = traitlets.Dict().tag(sync=True)
    """The last save: ``{"state": "idle"|"saving"|"saved"|"error", "message", "id", "name"}``."""
    code = traitlets.Unicode("").tag(sync=True)
    """``to_code()`` of the current form, when valid."""
    connection = traitlets.Unicode("").tag(sync=True)
    """Where saves go, shown in the header."""
    editing_id = traitlets.Unicode("").tag(sync=True)
    """The id of the saved automation being edited; empty for a new one."""
    preview_view = traitlets.Dict().tag(sync=True)
    """The preview: its state and progress, summary, fires, sweep, and the layout of
    ``preview_buffer``."""
    preview_buffer = traitlets.Bytes(b"").tag(sync=True)
    """Downsampled series and fire markers as one binary buffer (arrives as a DataView)."""
    executions: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    """Recent executions of the automation being edited, newest first."""
    preview_policy = traitlets.Unicode("wandb").tag(sync=True)
    """The fire policy the preview applies: wandb, every or edge."""

    def __init__(
        self,
        api: Api | None = None,
        entity: str | None = None,
        project: str | None = None,
        automation: NewAutomation | Automation | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        conn = connect(api)
        self._api = conn.api
        self.connection = conn.label
        self._entity = entity
        self._preview_cancel: threading.Event | None = None
        self.status = {"state": "idle", "message": "", "id": "", "name": ""}
        self.observe(self._on_spec, names=["spec"])
        self.observe(lambda _: self.refresh_executions(), names=["editing_id"])
        self._load_options(project)
        if automation is not None:
            self.automation = automation
        else:
            self.spec = {**spec_module.DEFAULT_SPEC, **self._initial_scope(project)}

    # ------------------------------------------------------------------ the Python API

    @property
    def automation(self) -> NewAutomation:
        """The automation the form describes. Raises ValueError listing the form's errors."""
        built, errors = self._build(self.spec)
        if built is None:
            problems = "; ".join(f"{field}: {message}" for field, message in errors.items())
            raise ValueError(f"the form is not valid yet: {problems}")
        return built

    @automation.setter
    def automation(self, value: NewAutomation | Automation) -> None:
        reason = spec_module.why_not_editable(value)
        if reason is not None:
            raise ValueError(f"the builder cannot edit this automation: {reason}")
        self.editing_id = value.id if isinstance(value, Automation) else ""
        self.spec = spec_module.from_automation(value)

    @property
    def api(self) -> Api:
        """The Api the builder reads from and saves through."""
        return self._api

    def save(self) -> Automation | None:
        """Create (or, when editing, update) the automation; the status trait reports it."""
        built, errors = self._build(self.spec)
        if built is None:
            self.errors = errors
            self.status = {
                "state": "error",
                "message": "Fix the highlighted fields first.",
                "id": "",
                "name": "",
            }
            return None
        self.status = {**self.status, "state": "saving", "message": "Saving..."}
        try:
            if self.editing_id:
                # Updates are full replacements of the saved automation, found by id.
                saved_list = self._api.automations(self._entity_name())
                current = next((a for a in saved_list if a.id == self.editing_id), None)
                if current is None:
                    raise ApiError("the automation being edited no longer exists; save it as new")
                saved = self._api.update_automation(
                    current,
                    name=built.name,
                    description=built.description,
                    enabled=built.enabled,
                    event=built.event,
                    scope=built.scope,
                    action=built.action,
                )
            else:
                saved = self._api.create_automation(built)
        except ApiError as exc:
            # Shown next to the field it names (until the form changes), and in the status.
            field = field_of(str(exc), str(self.spec.get("event_type", "")))
            if field is not None:
                self.errors = {**self.errors, field: str(exc)}
            self.status = {"state": "error", "message": str(exc), "id": "", "name": ""}
            return None
        self.editing_id = saved.id
        self._load_saved_automations()
        self.status = {
            "state": "saved",
            "message": f"Saved {saved.name!r}",
            "id": saved.id,
            "name": saved.name,
        }
        return saved

    @anywidget.experimental.command
    def _save(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        saved = self.save()
        return {"ok": saved is not None, **self.status}, []

    @anywidget.experimental.command
    def _refresh(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """The header's reload button: integrations or projects added elsewhere appear."""
        self._load_options(str(self.spec.get("scope_name") or "") or None)
        self.options = {**self.options, **self._scope_options(self.spec)}
        return {"ok": True}, []

    @anywidget.experimental.command
    def _open(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """Open a saved automation (by id) for editing, or start a new one (empty id)."""
        wanted = str((msg or {}).get("id") or "") if isinstance(msg, dict) else ""
        return self.open_saved(wanted), []

    def open_saved(self, automation_id: str) -> dict[str, Any]:
        """Load the saved automation ``automation_id`` into the form ("" starts a new one);
        one with parts this package cannot edit is reported, not loaded."""
        if not automation_id:
            self.editing_id = ""
            self.spec = {**spec_module.DEFAULT_SPEC, **self._initial_scope()}
            return {"ok": True}
        try:
            found = [a for a in self._api.automations(self._entity_name()) if a.id == automation_id]
        except ApiError as exc:
            return {"ok": False, "message": str(exc)}
        if not found:
            return {"ok": False, "message": "That automation no longer exists."}
        reason = spec_module.why_not_editable(found[0])
        if reason is not None:
            message = f"Not editable here: {reason}."
            self.status = {"state": "error", "message": message, "id": "", "name": ""}
            return {"ok": False, "message": message}
        self.automation = found[0]
        return {"ok": True}

    def preview(
        self,
        runs: list[str] | None = None,
        max_runs: int = 1000,
        since: datetime | str | None = None,
        policy: PolicyLike | None = None,
    ) -> Backtest | None:
        """Backtest the form's automation on logged history and show it in the widget.

        Covers the most recent ``max_runs`` runs in scope that match the run filter (and
        were created after ``since``, if given), or exactly ``runs``. Metric rules are
        evaluated a batch of runs at a time, and the widget shows each batch as it lands.
        Returns the :class:`~wandb_auto_widget.widget.Backtest` (per-run fire and condition
        counts, first fires), or None for other kinds of event.
        """
        cancel = threading.Event()
        self._preview_cancel = cancel

        def update(view: dict[str, Any], buffer: bytes | None) -> None:
            if self._preview_cancel is not cancel:
                return  # a newer preview has started
            with self.hold_sync():  # the buffer and the view that describes it, together
                if buffer is not None:
                    self.preview_buffer = buffer
                self.preview_view = view

        try:
            automation = self.automation_for_preview()
            self.preview_view = {"state": "fetching", "done": 0, "total": None}
            result = run_preview(
                self._api,
                automation,
                entity=self._entity_name(),
                runs=runs,
                max_runs=max_runs,
                since=since,
                policy=policy or self.preview_policy,  # type: ignore[arg-type]
                on_update=update,
                cancel=cancel,
            )
        except (PreviewError, ValueError) as exc:
            self.preview_view = {"state": "error", "message": str(exc)}
            self.preview_buffer = b""
            return None
        except ApiError as exc:
            self.preview_view = {"state": "error", "message": f"Could not reach the server: {exc}"}
            self.preview_buffer = b""
            return None
        with self.hold_sync():
            self.preview_buffer = result.buffer
            self.preview_view = result.view
        return result.backtest

    def watch(
        self,
        *,
        interval: float = 30.0,
        budget: int = 120,
        db: str | Path | None = None,
    ) -> Watcher:
        """Follow this builder's W&B project with a watcher, in this kernel, so that the
        extension rules (plateau, non-finite, stalled runs, StopRun, digests) run on its runs.

        Starts an embedded server on ``db`` (by default ``watch.db`` beside the default
        database) and a :class:`~wandb_auto_widget.server.watcher.Watcher` polling the
        project every ``interval`` seconds within ``budget`` requests a minute. Save the
        extension rules to the watcher's server, e.g. with
        ``AutomationBuilder(api=watcher.local.api, entity=..., project=...)``; ``watcher.stop()``
        ends it (docs/watch.md).
        """
        from ..server import LocalServer, default_db_path
        from ..server.watcher import Watcher

        if EXTENSION_FEATURE in self._api.features():
            raise ValueError(
                "This builder is connected to an embedded server, which runs the extension "
                "rules itself: a watcher is for projects that log to W&B."
            )
        project = (
            self.spec.get("scope_name") if self.spec.get("scope_typename") == "Project" else None
        )
        if not project:
            raise ValueError("Choose the project to watch first (its scope in the form).")
        path = f"{self._entity_name()}/{project}"
        local = LocalServer(db=db or default_db_path().with_name("watch.db")).start()
        # The project exists there at once, so rules can be saved before the first poll.
        local.api.create_project(project, entity=self._entity_name())
        watcher = Watcher(self._api, local, [path], interval=interval, budget=budget)
        return watcher.start()

    def automation_for_preview(self) -> NewAutomation:
        """The form's automation for previewing: only the event matters to a backtest, so
        neither a name nor an action is needed yet (a digest's action is what it previews)."""
        keep = self.spec.get("action_type") == "DIGEST"
        spec = {
            **self.spec,
            "name": self.spec.get("name") or "preview",
            "action_type": self.spec["action_type"] if keep else "NO_OP",
        }
        built, errors = spec_module.build(spec)
        if built is None:
            fields = ", ".join(sorted(errors))
            raise ValueError(f"Fix the form before previewing ({fields}).")
        return built

    @anywidget.experimental.command
    def _preview(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        # Run in a thread: the kernel keeps handling messages, so Cancel can arrive.
        options = msg if isinstance(msg, dict) else {}
        thread = threading.Thread(
            target=self.preview,
            kwargs={"max_runs": int(options.get("max_runs", 1000))},
            name="wandb-auto-widget-preview",
            daemon=True,
        )
        thread.start()
        return {"started": True}, []

    @anywidget.experimental.command
    def _cancel_preview(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        if self._preview_cancel is not None:
            self._preview_cancel.set()
        return {"cancelled": True}, []

    def refresh_executions(self, limit: int = 10) -> None:
        """Load the recent executions of the automation being edited (if any)."""
        if not self.editing_id:
            self.executions = []
            return
        try:
            found = self._api.automation_history(entity=self._entity_name(), limit=200)
        except ApiError as exc:
            log.warning("could not load executions: %s", exc)
            return
        mine = [e for e in found if e.automation_id == self.editing_id][:limit]
        self.executions = [
            {
                "time": e.created_at,
                "status": e.status,
                "event": e.event,
                "attempts": e.attempts,
                "response": e.response_status,
                "error": e.error or "",
                "test": e.is_test,
            }
            for e in mine
        ]

    # ------------------------------------------------------------------ internals

    def _entity_name(self) -> str:
        return self._entity or self._api.default_entity

    def _build(self, spec: dict[str, Any]) -> tuple[NewAutomation | None, dict[str, str]]:
        """The form's automation, or its errors: the spec's own, and an integration of the
        wrong kind for the action (which the form would not show)."""
        built, errors = spec_module.build(spec)
        mismatch = spec_module.integration_mismatch(spec, self.options.get("integrations", []))
        if mismatch:
            return None, {**errors, "integration": mismatch}
        return built, errors

    def _initial_scope(self, project: str | None = None) -> dict[str, Any]:
        """A new automation's project (``project``, or the first one) and Slack channel."""
        initial: dict[str, Any] = {}
        first = self._default_project(project)
        if first is not None:
            initial.update(scope_id=first["id"], scope_name=first["name"], scope_typename="Project")
        integrations = self.options.get("integrations", [])
        slack = next((i for i in integrations if i["kind"] == "slack"), None)
        if slack is not None:
            initial["integration_id"] = slack["id"]
        return initial

    def _load_saved_automations(self) -> None:
        """The entity's saved automations, for the form's "open" list; those with parts this
        package cannot edit are listed as not editable."""
        try:
            saved = self._api.automations(self._entity_name())
        except ApiError as exc:
            log.warning("could not list saved automations: %s", exc)
            return
        self.options = {
            **self.options,
            "automations": [
                {
                    "id": a.id,
                    "name": a.name,
                    "editable": reason is None,
                    "note": "" if reason is None else f"not editable here: {reason}",
                }
                for a in saved
                for reason in [spec_module.why_not_editable(a)]
            ],
        }

    def _default_project(self, wanted: str | None) -> dict[str, Any] | None:
        projects = self.options.get("projects", [])
        if wanted:
            return next((p for p in projects if p["name"] == wanted), None)
        return next((p for p in projects if not p["name"].startswith("wandb-registry-")), None)

    def _load_options(self, project: str | None) -> None:
        options: dict[str, Any] = {
            "projects": [],
            "integrations": [],
            "collections": [],
            "metrics": [],
        }
        try:
            entity = self._entity_name()
            options["entity"] = entity
            options["projects"] = [{"id": p.id, "name": p.name} for p in self._api.projects(entity)]
            options["integrations"] = [
                {
                    "id": i.id,
                    "kind": "slack" if i.typename__ == "SlackIntegration" else "webhook",
                    "name": getattr(i, "channel_name", None) or getattr(i, "name", ""),
                }
                for i in self._api.integrations(entity)
            ]
        except ApiError as exc:
            options["error"] = f"Could not load projects and integrations: {exc}"
        # Plateau, non-finite, stalled and StopRun are offered everywhere, marked "embedded
        # engine only" where the server cannot run them (W&B).
        options["extensions"] = EXTENSION_FEATURE in self._api.features()
        built, _ = self._build(self.spec) if self.spec else (None, {})
        options["where"] = spec_module.where_it_runs(built, options["extensions"])
        self.options = {**options, "variables": template_variables("RUN_METRIC")}
        self._load_saved_automations()

    def _on_spec(self, change: dict[str, Any]) -> None:
        new, old = change["new"], change["old"] or {}
        built, errors = self._build(new)
        self.errors = errors  # server messages from the last save go once the form changes
        if self.status.get("state") == "error":
            self.status = {"state": "idle", "message": "", "id": "", "name": ""}
        self.code = built.to_code() if built is not None else ""
        options = dict(self.options)
        options["explanation"] = spec_module.explanation(built)
        options["where"] = spec_module.where_it_runs(built, bool(options.get("extensions", True)))
        options["variables"] = template_variables(str(new.get("event_type", "RUN_METRIC")))
        if new.get("scope_id") != old.get("scope_id") and new.get("scope_name"):
            options.update(self._scope_options(new))
        self.options = options

    def _scope_options(self, spec: dict[str, Any]) -> dict[str, Any]:
        if spec.get("scope_typename") != "Project":
            return {}
        path = f"{self._entity_name()}/{spec['scope_name']}"
        try:
            return {
                "metrics": self._api.metric_keys(path),
                "collections": [
                    {"id": c.id, "name": c.name, "typename": c.typename__}
                    for c in self._api.artifact_collections(path)
                ],
            }
        except ApiError as exc:
            log.warning("could not load metrics for %s: %s", path, exc)
            return {"metrics": [], "collections": []}
