// The builder's form: When / If / Then / Save, the code it makes, and the preview. It renders
// once and then updates in place, each part only when a trait it shows changes, so typing
// never loses focus: each control is bound to one spec field.

import { call, CallError } from "./rpc";
import { h, setOptions, show } from "./dom";
import { AGGREGATIONS, ACTION_TYPES, COMPARISONS, EVENT_TYPES, RUN_STATES, type Spec, type SpecField } from "./form";
import { createPreview } from "./preview";
import { applyEdit, describe, insertAt, integrationKind, kindOf, markExtensions, scopeChoices, type EditValue } from "./spec";
import type { Store } from "./store";

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
type Part = "threshold" | "change" | "zscore" | "plateau" | "stalled" | "schedule" | "state" | "run-filter" | "artifact-filter" | "slack" | "webhook" | "digest" | "integration";

const SAVE_TIMEOUT_MS = 120_000;

export function createBuilder(store: Store, el: HTMLElement): () => void {
  const controls = new Map<SpecField, Control>();
  const errorSlots = new Map<string, HTMLElement>();
  const parts = new Map<Part, HTMLElement>();

  const spec = (): Spec => store.get("spec");
  const edit = (field: SpecField, value: EditValue): void => store.set("spec", applyEdit(spec(), field, value));

  function bind<C extends Control>(field: SpecField, control: C, testid: string): C {
    control.dataset["testid"] = testid;
    control.name = field;
    const read = (): EditValue =>
      control instanceof HTMLInputElement && control.type === "checkbox" ? control.checked : control.value;
    control.addEventListener(control instanceof HTMLSelectElement ? "change" : "input", () => edit(field, read()));
    controls.set(field, control);
    return control;
  }

  function row(label: string, control: Node, errorKey: string, hint = ""): HTMLElement {
    const error = h("div", { class: "wab-error", testid: `error-${errorKey}`, role: "alert" });
    errorSlots.set(errorKey, error);
    return h(
      "label",
      { class: "wab-row" },
      h("span", { class: "wab-label" }, label),
      h("span", { class: "wab-control" }, control, hint ? h("small", { class: "wab-hint" }, hint) : "", error),
    );
  }

  const select = (field: SpecField, testid: string, items: { value: string; label: string }[]): HTMLSelectElement => {
    const s = bind(field, h("select"), testid);
    setOptions(s, items);
    return s;
  };
  const input = (field: SpecField, testid: string, type = "text", placeholder = ""): HTMLInputElement =>
    bind(field, h("input", { type, placeholder, autocomplete: "off" }), testid);

  // --- Header: where saves go, saved automations, reload ---------------------------------
  const connection = h("span", { class: "wab-connection", testid: "connection" });
  const openSaved = h("select", { testid: "open-saved", title: "Edit a saved automation" });
  const reload = h("button", { type: "button", class: "wab-icon", testid: "reload", title: "Reload projects, integrations and saved automations" }, "\u21bb");
  const header = h("header", { class: "wab-header" }, h("strong", {}, "W&B automation builder"), connection, openSaved, reload);

  // --- When -----------------------------------------------------------------------------
  const eventType = select("event_type", "event-type", EVENT_TYPES);
  const scope = h("select", { testid: "scope" });
  scope.addEventListener("change", () => {
    const choice = scopeChoices(store.get("options"), spec().event_type).find((c) => c.id === scope.value);
    store.set("spec", { ...spec(), scope_id: scope.value, scope_name: choice?.name ?? "", scope_typename: choice?.typename ?? "Project" });
  });
  const when = h(
    "section",
    { class: "wab-section", testid: "section-when" },
    h("h3", {}, "When"),
    row("Event", eventType, "event_type"),
    row("In", scope, "scope"),
  );

  // --- If -------------------------------------------------------------------------------
  const metrics = h("datalist", { id: `wab-metrics-${Math.random().toString(36).slice(2)}` });
  const metric = input("metric", "metric-name", "text", "e.g. val/loss");
  metric.setAttribute("list", metrics.id);
  const metricRow = row("Metric", h("span", {}, metric, metrics), "metric");
  const directions = (either: string, up: string, down: string) => [
    { value: "ANY", label: either },
    { value: "INCREASE", label: up },
    { value: "DECREASE", label: down },
  ];
  parts.set(
    "threshold",
    h(
      "div",
      { class: "wab-group" },
      row("Of its", select("agg", "agg", AGGREGATIONS), "agg"),
      row("Over the last", input("window", "window", "number"), "window", "logged values"),
      row("When it", select("cmp", "cmp", COMPARISONS), "cmp"),
      row("Threshold", input("threshold", "threshold", "number"), "threshold"),
    ),
  );
  parts.set(
    "change",
    h(
      "div",
      { class: "wab-group" },
      row("Compare the", select("change_agg", "change-agg", AGGREGATIONS), "change_agg"),
      row("Of the last", input("change_window", "change-window", "number"), "change_window", "values"),
      row("Against the prior", input("prior_window", "prior-window", "number"), "prior_window", "values"),
      row("Direction", select("change_dir", "change-dir", directions("rises or falls", "rises", "falls")), "change_dir"),
      row("By at least", input("change_amount", "change-amount", "number"), "change_amount"),
      row("Measured as", select("change_type", "change-type", [
        { value: "RELATIVE", label: "a fraction of the prior value (0.1 = 10%)" },
        { value: "ABSOLUTE", label: "an absolute difference" },
      ]), "change_type"),
    ),
  );
  parts.set(
    "zscore",
    h(
      "div",
      { class: "wab-group" },
      row("Window", input("zscore_window", "zscore-window", "number"), "zscore_window", "values before the latest"),
      row("Direction", select("zscore_dir", "zscore-dir", directions("either way", "above the mean", "below the mean")), "zscore_dir"),
      row("At least", input("zscore_threshold", "zscore-threshold", "number"), "zscore_threshold", "standard deviations"),
    ),
  );
  const explanation = h("p", { class: "wab-hint", testid: "plateau-explanation" });
  parts.set(
    "plateau",
    h(
      "div",
      { class: "wab-group" },
      row("Smoothed by", select("plateau_agg", "plateau-agg", AGGREGATIONS), "plateau_agg"),
      row("Over the last", input("plateau_window", "plateau-window", "number"), "plateau_window", "logged values"),
      row("Better is", select("plateau_mode", "plateau-mode", [
        { value: "min", label: "lower (a loss)" },
        { value: "max", label: "higher (an accuracy)" },
      ]), "plateau_mode"),
      row("Patience", input("patience", "patience", "number"), "patience", "values without improvement before it fires"),
      row("Improvement of at least", input("plateau_threshold", "plateau-threshold", "number"), "plateau_threshold"),
      row("Measured as", select("plateau_threshold_mode", "plateau-threshold-mode", [
        { value: "rel", label: "a fraction of the best (1e-4 = 0.01%)" },
        { value: "abs", label: "an absolute amount" },
      ]), "plateau_threshold_mode"),
      row("Then ignore", input("plateau_cooldown", "plateau-cooldown", "number"), "plateau_cooldown", "values (cooldown)"),
      row("Skip the first", input("plateau_warmup", "plateau-warmup", "number"), "plateau_warmup", "values of each run (warm-up)"),
      explanation,
    ),
  );
  parts.set(
    "stalled",
    h(
      "div",
      { class: "wab-group" },
      row("Silent for", input("stalled_minutes", "stalled-minutes", "number"), "stalled_minutes", "minutes without a new history row"),
      row("Also say when it resumes", input("stalled_resolved", "stalled-resolved", "checkbox"), "stalled_resolved"),
    ),
  );
  const nextTimes = h("p", { class: "wab-hint", testid: "schedule-next" });
  parts.set(
    "schedule",
    h(
      "div",
      { class: "wab-group" },
      row("Cron", input("cron", "cron", "text", "e.g. 0 9 * * 1-5"), "cron", "minute hour day month weekday"),
      row("Time zone", input("timezone", "timezone", "text", "e.g. Europe/Berlin"), "timezone"),
      nextTimes,
    ),
  );
  const stateBoxes = RUN_STATES.map((state) => {
    const box = h("input", { type: "checkbox", value: state, testid: `state-${state.toLowerCase()}` });
    box.addEventListener("change", () => edit("states", stateBoxes.filter((b) => b.checked).map((b) => b.value)));
    return box;
  });
  parts.set(
    "state",
    h(
      "div",
      { class: "wab-group" },
      row("Becomes", h("span", { class: "wab-checks" }, ...stateBoxes.map((b) => h("label", {}, b, ` ${b.value.toLowerCase()}`))), "states", "crashed runs count as failed; killed runs never fire"),
    ),
  );
  const runFilterValue = input("run_filter_value", "run-filter-value", "text", "e.g. bert");
  parts.set(
    "run-filter",
    h(
      "div",
      { class: "wab-group" },
      row("Runs", select("run_filter_mode", "run-filter-mode", [
        { value: "any", label: "any run" },
        { value: "contains", label: "name contains" },
        { value: "regex", label: "name matches regex" },
        { value: "custom", label: "custom filter (from code)" },
      ]), "run_filter_mode"),
      row("", runFilterValue, "run_filter_value"),
    ),
  );
  const artifactRegex = input("artifact_filter_regex", "artifact-filter-regex", "text", "e.g. ^prod");
  parts.set(
    "artifact-filter",
    h(
      "div",
      { class: "wab-group" },
      row("Only when", select("artifact_filter_field", "artifact-filter-field", [
        { value: "none", label: "always" },
        { value: "alias", label: "the alias matches" },
        { value: "tag", label: "the tag matches" },
      ]), "artifact_filter_field"),
      row("", artifactRegex, "artifact_filter_regex"),
    ),
  );
  const sentence = h("p", { class: "wab-sentence", testid: "summary" });
  const where = h("p", { class: "wab-hint", testid: "where-it-runs" });
  const ifSection = h(
    "section",
    { class: "wab-section", testid: "section-if" },
    h("h3", {}, "If"),
    metricRow,
    ...(["threshold", "change", "zscore", "plateau", "stalled", "schedule", "state", "run-filter", "artifact-filter"] as const).map((p) => parts.get(p)!),
    sentence,
    where,
  );

  // --- Then -----------------------------------------------------------------------------
  const actionType = select("action_type", "action-type", ACTION_TYPES);
  const integration = select("integration_id", "integration", []);
  const payload = bind("payload", h("textarea", { rows: "5", spellcheck: "false" }), "payload");
  const chips = h("div", { class: "wab-chips", testid: "variables" });
  parts.set(
    "slack",
    h(
      "div",
      { class: "wab-group" },
      row("Title", input("title", "title", "text", "e.g. val/loss is high"), "title"),
      row("Message", input("message", "message"), "message"),
      row("Severity", select("severity", "severity", ["INFO", "WARN", "ERROR"].map((v) => ({ value: v, label: v }))), "severity"),
    ),
  );
  parts.set("webhook", h("div", { class: "wab-group" }, row("Payload (JSON)", h("span", {}, payload, chips), "payload")));
  parts.set(
    "digest",
    h(
      "div",
      { class: "wab-group" },
      row("Metrics", input("digest_metrics", "digest-metrics", "text", "e.g. val/loss, accuracy"), "digest_metrics", "last, best and change per active run"),
      row("Skip empty periods", input("digest_skip_if_empty", "digest-skip-empty", "checkbox"), "digest_skip_if_empty"),
    ),
  );
  parts.set("integration", row("Send to", integration, "integration"));
  const then = h(
    "section",
    { class: "wab-section", testid: "section-then" },
    h("h3", {}, "Then"),
    row("Action", actionType, "action_type"),
    parts.get("integration")!,
    parts.get("slack")!,
    parts.get("webhook")!,
    parts.get("digest")!,
  );

  // --- Save -----------------------------------------------------------------------------
  const save = h("button", { type: "button", class: "wab-save", testid: "save" }, "Save automation");
  const status = h("div", { class: "wab-status", testid: "status", role: "status" });
  let callProblem = ""; // a save or open that got no answer: shown until the next change
  save.addEventListener("click", async () => {
    save.disabled = true;
    callProblem = "";
    status.textContent = "Saving...";
    try {
      await call(store.model, "_save", {}, { timeoutMs: SAVE_TIMEOUT_MS });
    } catch (err) {
      callProblem = `Save failed: ${err instanceof CallError ? err.message : String(err)}`;
    } finally {
      updateStatus();
    }
  });
  const executions = h("div", { class: "wab-executions", testid: "executions" });
  const saveSection = h(
    "section",
    { class: "wab-section", testid: "section-save" },
    h("h3", {}, "Save"),
    row("Name", input("name", "name", "text", "e.g. val-loss-alert"), "name"),
    row("Description", input("description", "description"), "description"),
    row("Enabled", input("enabled", "enabled", "checkbox"), "enabled"),
    h("div", { class: "wab-actions" }, save, status),
    executions,
  );

  const code = h("pre", { class: "wab-code", testid: "code" });
  const copy = h("button", { type: "button", testid: "copy-code" }, "Copy");
  copy.addEventListener("click", () => void navigator.clipboard?.writeText(code.textContent ?? ""));
  const codeView = h("details", { class: "wab-code-view" }, h("summary", {}, "Python code ", copy), code);

  const root = h("div", { class: "wab-root", testid: "builder" }, header, when, ifSection, then, saveSection, codeView);
  const preview = createPreview(store, root, (field, value) => edit(field, value));
  root.insertBefore(preview.element, codeView);
  el.replaceChildren(root);

  openSaved.addEventListener("change", async () => {
    const id = openSaved.value;
    callProblem = "";
    try {
      const answer = await call<{ ok: boolean; message?: string }>(store.model, "_open", { id });
      if (!answer.ok) callProblem = answer.message ?? "Could not open it.";
    } catch (err) {
      callProblem = `Could not open it: ${err instanceof CallError ? err.message : String(err)}`;
    }
    updateHeader();
    updateStatus();
  });
  reload.addEventListener("click", () => {
    reload.disabled = true;
    call(store.model, "_refresh", {}, { timeoutMs: SAVE_TIMEOUT_MS })
      .catch((err: unknown) => void (callProblem = `Reload failed: ${String(err)}`))
      .finally(() => {
        reload.disabled = false;
        updateStatus();
      });
  });

  // --- Updates, one per thing shown -----------------------------------------------------
  function updateValues(): void {
    const s = spec();
    for (const [field, control] of controls) {
      if (document.activeElement === control) continue; // never fight the user's typing
      const value = s[field];
      if (control instanceof HTMLInputElement && control.type === "checkbox") control.checked = Boolean(value);
      else control.value = value === undefined || value === null ? "" : String(value);
    }
    for (const box of stateBoxes) box.checked = s.states.includes(box.value);
    const kind = kindOf(s.event_type);
    show(metricRow, ["threshold", "change", "zscore", "plateau", "non_finite"].includes(kind));
    for (const k of ["threshold", "change", "zscore", "plateau", "stalled", "schedule", "state"] as const) show(parts.get(k)!, kind === k);
    show(controls.get("plateau_window")!.closest("label")!, Boolean(s.plateau_agg));
    show(parts.get("run-filter")!, kind !== "artifact" && kind !== "schedule");
    show(parts.get("artifact-filter")!, kind === "artifact");
    show(runFilterValue.closest("label")!, s.run_filter_mode === "contains" || s.run_filter_mode === "regex");
    show(artifactRegex.closest("label")!, s.artifact_filter_field !== "none");
    show(parts.get("integration")!, integrationKind(s.action_type) !== "");
    show(parts.get("slack")!, s.action_type === "NOTIFICATION");
    show(parts.get("webhook")!, s.action_type === "GENERIC_WEBHOOK");
    show(parts.get("digest")!, s.action_type === "DIGEST");
    sentence.textContent = describe(s);
    callProblem = "";
  }

  function updateChoices(): void {
    const s = spec();
    const opts = store.get("options");
    const supported = opts.extensions !== false;
    setOptions(eventType, markExtensions(EVENT_TYPES, supported));
    eventType.value = s.event_type;
    setOptions(actionType, markExtensions(ACTION_TYPES, supported));
    actionType.value = s.action_type;
    explanation.textContent = opts.explanation ?? "";
    where.textContent = opts.where ?? "";
    nextTimes.textContent = kindOf(s.event_type) === "schedule" ? (opts.explanation ?? "") : "";
    const scopes = scopeChoices(opts, s.event_type);
    setOptions(scope, [{ value: "", label: scopes.length ? "choose..." : "nothing to choose yet" }, ...scopes.map((c) => ({ value: c.id, label: c.label }))]);
    scope.value = s.scope_id;
    metrics.replaceChildren(...(opts.metrics ?? []).map((m) => h("option", { value: m })));
    const wanted = integrationKind(s.action_type);
    const fitting = (opts.integrations ?? []).filter((i) => wanted === "any" || i.kind === wanted);
    const noun = wanted === "slack" ? "Slack channel" : wanted === "any" ? "Slack channel or webhook" : "webhook";
    setOptions(integration, [{ value: "", label: fitting.length ? `choose a ${noun}...` : `no ${noun} integration yet` }, ...fitting.map((i) => ({ value: i.id, label: i.name }))]);
    integration.value = fitting.some((i) => i.id === s.integration_id) ? s.integration_id : "";
    chips.replaceChildren(
      ...(opts.variables ?? []).map((v) => {
        const chip = h("button", { type: "button", class: "wab-chip" }, v);
        chip.addEventListener("click", () => {
          const text = insertAt(payload.value, payload.selectionStart ?? payload.value.length, v);
          edit("payload", text);
          payload.value = text;
        });
        return chip;
      }),
    );
    updateHeader();
  }

  function updateHeader(): void {
    const opts = store.get("options");
    const saved = opts.automations ?? [];
    setOptions(openSaved, [
      { value: "", label: saved.length ? "New automation (or open a saved one...)" : "New automation" },
      ...saved.map((a) => ({ value: a.id, label: a.editable ? a.name : `${a.name} (${a.note})`, disabled: !a.editable })),
    ]);
    openSaved.value = saved.some((a) => a.id === store.get("editing_id")) ? store.get("editing_id") : "";
    connection.textContent = store.get("connection") + (opts.error ? ` (${opts.error})` : "");
  }

  function updateErrors(): void {
    const errors = store.get("errors");
    for (const [key, slot] of errorSlots) {
      slot.textContent = errors[key] ?? "";
      slot.closest(".wab-row")?.classList.toggle("wab-invalid", Boolean(errors[key]));
    }
  }

  function updateStatus(): void {
    const st = store.get("status");
    const problems = Object.keys(store.get("errors")).length;
    save.disabled = problems > 0 || st.state === "saving";
    save.textContent = store.get("editing_id") ? "Update automation" : "Save automation";
    status.textContent =
      callProblem ||
      (st.state === "saved"
        ? `${st.message ?? "Saved"} (id ${st.id ?? ""})`
        : st.state === "error" || st.state === "saving"
          ? (st.message ?? "")
          : problems
            ? `${problems} field${problems > 1 ? "s" : ""} to fix before saving`
            : "Ready to save");
    status.dataset["state"] = callProblem ? "error" : (st.state ?? "idle");
  }

  function updateExecutions(): void {
    const recent = store.get("executions") ?? [];
    executions.hidden = !recent.length;
    executions.replaceChildren(
      h("div", { class: "wab-hint" }, "Recent executions"),
      ...recent.map((e) => {
        const what = String(e.event["run_name"] ?? e.event["artifact"] ?? "");
        const step = e.event["step"] !== undefined ? ` step ${String(e.event["step"])}` : "";
        const result = e.error || (e.response ? `HTTP ${e.response}` : "");
        return h("div", { class: "wab-execution", "data-status": e.status }, `${e.time.slice(0, 19).replace("T", " ")}  ${e.status}${e.test ? " (test)" : ""}  ${what}${step}  ${result}`);
      }),
    );
  }

  store.watch(["spec"], updateValues);
  store.watch(["spec", "options"], updateChoices);
  store.watch(["errors"], updateErrors);
  store.watch(["status", "errors", "editing_id", "spec"], updateStatus);
  store.watch(["connection", "editing_id"], updateHeader);
  store.watch(["code"], () => void (code.textContent = store.get("code") || "# The code appears here once the form is valid."));
  store.watch(["executions"], updateExecutions);
  return () => {
    store.dispose();
    preview.dispose();
  };
}
