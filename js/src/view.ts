// The builder's DOM. It renders once and then updates in place, so typing never loses
// focus: each control is bound to one spec field, and model changes only touch values,
// visibility, errors and status.

import type { AnyModel, Experimental } from "@anywidget/types";
import {
  AGGREGATIONS,
  applyEdit,
  COMPARISONS,
  describe,
  EVENT_TYPES,
  insertAt,
  kindOf,
  scopeChoices,
  type Kind,
  type Spec,
} from "./spec";
import { renderPreview } from "./preview";
import type { PreviewView } from "./series";

export interface Model {
  spec: Spec;
  errors: Record<string, string>;
  options: {
    projects?: { id: string; name: string }[];
    collections?: { id: string; name: string; typename: string }[];
    integrations?: { id: string; kind: string; name: string }[];
    metrics?: string[];
    variables?: string[];
    error?: string;
  };
  status: { state?: string; message?: string; id?: string; name?: string };
  code: string;
  connection: string;
  editing_id: string;
  preview_view: PreviewView;
  preview_buffer: DataView | null;
  preview_policy: string;
  executions: { time: string; status: string; event: Record<string, unknown>; attempts: number; response: number | null; error: string; test: boolean }[];
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "testid") el.dataset["testid"] = value;
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

function options(select: HTMLSelectElement, items: { value: string; label: string }[]): void {
  const current = select.value;
  select.replaceChildren(...items.map((i) => h("option", { value: i.value }, i.label)));
  if (items.some((i) => i.value === current)) select.value = current;
}

export function renderBuilder(model: AnyModel<Model>, el: HTMLElement, experimental: Experimental): () => void {
  const controls = new Map<string, Control>();
  const errorSlots = new Map<string, HTMLElement>();
  const sections = new Map<Kind | "run-filter" | "artifact-filter" | "slack" | "webhook" | "integration", HTMLElement>();

  const spec = (): Spec => model.get("spec");
  const edit = (field: string, value: string | boolean | string[]): void => {
    model.set("spec", applyEdit(spec(), field, value));
    model.save_changes();
  };

  function bind(field: string, control: Control, testid: string): Control {
    control.dataset["testid"] = testid;
    control.name = field;
    const read = (): string | boolean =>
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

  const select = (field: string, testid: string, items: { value: string; label: string }[]): HTMLSelectElement => {
    const s = bind(field, h("select"), testid) as HTMLSelectElement;
    options(s, items);
    return s;
  };
  const input = (field: string, testid: string, type = "text", placeholder = ""): HTMLInputElement =>
    bind(field, h("input", { type, placeholder, autocomplete: "off" }), testid) as HTMLInputElement;

  // --- When ---------------------------------------------------------------------------
  const scope = h("select", { testid: "scope" });
  scope.addEventListener("change", () => {
    const choice = scopeChoices(model.get("options"), spec()["event_type"]).find((c) => c.id === scope.value);
    model.set("spec", { ...spec(), scope_id: scope.value, scope_name: choice?.name ?? "", scope_typename: choice?.typename ?? "Project" });
    model.save_changes();
  });
  const when = h(
    "section",
    { class: "wab-section", testid: "section-when" },
    h("h3", {}, "When"),
    row("Event", select("event_type", "event-type", EVENT_TYPES.map((e) => ({ value: e.value, label: e.label }))), "event_type"),
    row("In", scope, "scope"),
  );

  // --- If -------------------------------------------------------------------------------
  const metrics = h("datalist", { id: `wab-metrics-${Math.random().toString(36).slice(2)}` });
  const metric = input("metric", "metric-name", "text", "e.g. val/loss");
  metric.setAttribute("list", metrics.id);
  const metricRow = row("Metric", h("span", {}, metric, metrics), "metric");

  const threshold = h(
    "div",
    { class: "wab-group" },
    row("Of its", select("agg", "agg", AGGREGATIONS), "agg"),
    row("Over the last", input("window", "window", "number"), "window", "logged values"),
    row("When it", select("cmp", "cmp", COMPARISONS), "cmp"),
    row("Threshold", input("threshold", "threshold", "number"), "threshold"),
  );
  const change = h(
    "div",
    { class: "wab-group" },
    row("Compare the", select("change_agg", "change-agg", AGGREGATIONS), "change_agg"),
    row("Of the last", input("change_window", "change-window", "number"), "change_window", "values"),
    row("Against the prior", input("prior_window", "prior-window", "number"), "prior_window", "values"),
    row("Direction", select("change_dir", "change-dir", [
      { value: "ANY", label: "rises or falls" },
      { value: "INCREASE", label: "rises" },
      { value: "DECREASE", label: "falls" },
    ]), "change_dir"),
    row("By at least", input("change_amount", "change-amount", "number"), "change_amount"),
    row("Measured as", select("change_type", "change-type", [
      { value: "RELATIVE", label: "a fraction of the prior value (0.1 = 10%)" },
      { value: "ABSOLUTE", label: "an absolute difference" },
    ]), "change_type"),
  );
  const zscore = h(
    "div",
    { class: "wab-group" },
    row("Window", input("zscore_window", "zscore-window", "number"), "zscore_window", "values before the latest"),
    row("Direction", select("zscore_dir", "zscore-dir", [
      { value: "ANY", label: "either way" },
      { value: "INCREASE", label: "above the mean" },
      { value: "DECREASE", label: "below the mean" },
    ]), "zscore_dir"),
    row("At least", input("zscore_threshold", "zscore-threshold", "number"), "zscore_threshold", "standard deviations"),
  );
  const stateBoxes = ["RUNNING", "FINISHED", "FAILED"].map((state) => {
    const box = h("input", { type: "checkbox", value: state, testid: `state-${state.toLowerCase()}` });
    box.addEventListener("change", () => {
      const chosen = stateBoxes.filter((b) => b.checked).map((b) => b.value);
      edit("states", chosen);
    });
    return box;
  });
  const states = h(
    "div",
    { class: "wab-group" },
    row("Becomes", h("span", { class: "wab-checks" }, ...stateBoxes.map((b) => h("label", {}, b, ` ${b.value.toLowerCase()}`))), "states", "crashed runs count as failed; killed runs never fire"),
  );
  const runFilter = h(
    "div",
    { class: "wab-group" },
    row("Runs", select("run_filter_mode", "run-filter-mode", [
      { value: "any", label: "any run" },
      { value: "contains", label: "name contains" },
      { value: "regex", label: "name matches regex" },
      { value: "custom", label: "custom filter (from code)" },
    ]), "run_filter_mode"),
    row("", input("run_filter_value", "run-filter-value", "text", "e.g. bert"), "run_filter_value"),
  );
  const artifactFilter = h(
    "div",
    { class: "wab-group" },
    row("Only when", select("artifact_filter_field", "artifact-filter-field", [
      { value: "none", label: "always" },
      { value: "alias", label: "the alias matches" },
      { value: "tag", label: "the tag matches" },
    ]), "artifact_filter_field"),
    row("", input("artifact_filter_regex", "artifact-filter-regex", "text", "e.g. ^prod"), "artifact_filter_regex"),
  );
  sections.set("threshold", threshold).set("change", change).set("zscore", zscore).set("state", states);
  sections.set("run-filter", runFilter).set("artifact-filter", artifactFilter);
  const sentence = h("p", { class: "wab-sentence", testid: "summary" });
  const ifSection = h(
    "section",
    { class: "wab-section", testid: "section-if" },
    h("h3", {}, "If"),
    metricRow,
    threshold,
    change,
    zscore,
    states,
    runFilter,
    artifactFilter,
    sentence,
  );

  // --- Then -----------------------------------------------------------------------------
  const integration = select("integration_id", "integration", []);
  const payload = bind("payload", h("textarea", { rows: "5", spellcheck: "false" }), "payload") as HTMLTextAreaElement;
  const chips = h("div", { class: "wab-chips", testid: "variables" });
  const slack = h(
    "div",
    { class: "wab-group" },
    row("Title", input("title", "title", "text", "e.g. val/loss is high"), "title"),
    row("Message", input("message", "message"), "message"),
    row("Severity", select("severity", "severity", ["INFO", "WARN", "ERROR"].map((v) => ({ value: v, label: v }))), "severity"),
  );
  const webhook = h("div", { class: "wab-group" }, row("Payload (JSON)", h("span", {}, payload, chips), "payload"));
  const integrationRow = row("Send to", integration, "integration");
  sections.set("slack", slack).set("webhook", webhook).set("integration", integrationRow);
  const then = h(
    "section",
    { class: "wab-section", testid: "section-then" },
    h("h3", {}, "Then"),
    row("Action", select("action_type", "action-type", [
      { value: "NOTIFICATION", label: "Send a Slack notification" },
      { value: "GENERIC_WEBHOOK", label: "Call a webhook" },
      { value: "NO_OP", label: "Do nothing (record it only)" },
    ]), "action_type"),
    integrationRow,
    slack,
    webhook,
  );

  // --- Save -----------------------------------------------------------------------------
  const save = h("button", { type: "button", class: "wab-save", testid: "save" }, "Save automation");
  const status = h("div", { class: "wab-status", testid: "status", role: "status" });
  save.addEventListener("click", async () => {
    save.disabled = true;
    status.textContent = "Saving...";
    try {
      await experimental.invoke("_save", {});
    } catch (err) {
      status.textContent = `Save failed: ${String(err)}`;
    } finally {
      refresh();
    }
  });
  const enabled = input("enabled", "enabled", "checkbox");
  const executions = h("div", { class: "wab-executions", testid: "executions" });
  const saveSection = h(
    "section",
    { class: "wab-section", testid: "section-save" },
    h("h3", {}, "Save"),
    row("Name", input("name", "name", "text", "e.g. val-loss-alert"), "name"),
    row("Description", input("description", "description"), "description"),
    row("Enabled", enabled, "enabled"),
    h("div", { class: "wab-actions" }, save, status),
    executions,
  );

  const code = h("pre", { class: "wab-code", testid: "code" });
  const copy = h("button", { type: "button", testid: "copy-code" }, "Copy");
  copy.addEventListener("click", () => void navigator.clipboard?.writeText(code.textContent ?? ""));
  const codeView = h("details", { class: "wab-code-view" }, h("summary", {}, "Python code ", copy), code);

  const header = h(
    "header",
    { class: "wab-header" },
    h("strong", {}, "W&B automation builder"),
    h("span", { class: "wab-connection", testid: "connection" }),
  );
  const root = h("div", { class: "wab-root", testid: "builder" }, header, when, ifSection, then, saveSection, codeView);
  const preview = renderPreview(model, root, experimental, edit);
  root.insertBefore(preview.element, codeView);
  el.replaceChildren(root);

  function refresh(): void {
    const s = spec();
    const opts = model.get("options");
    const errors = model.get("errors");
    const kind = kindOf(s["event_type"]);
    // values
    for (const [field, control] of controls) {
      if (document.activeElement === control) continue; // never fight the user's typing
      const value = s[field];
      if (control instanceof HTMLInputElement && control.type === "checkbox") control.checked = Boolean(value);
      else control.value = value === undefined || value === null ? "" : String(value);
    }
    const chosen = (s["states"] as string[] | undefined) ?? [];
    for (const box of stateBoxes) box.checked = chosen.includes(box.value);
    // choices
    const scopes = scopeChoices(opts, s["event_type"]);
    options(scope, [{ value: "", label: scopes.length ? "choose..." : "nothing to choose yet" }, ...scopes.map((c) => ({ value: c.id, label: c.label }))]);
    scope.value = String(s["scope_id"] ?? "");
    metrics.replaceChildren(...(opts.metrics ?? []).map((m) => h("option", { value: m })));
    const wanted = s["action_type"] === "NOTIFICATION" ? "slack" : "webhook";
    const integrations = (opts.integrations ?? []).filter((i) => i.kind === wanted);
    options(integration, [{ value: "", label: integrations.length ? "choose..." : `no ${wanted} integration yet` }, ...integrations.map((i) => ({ value: i.id, label: i.name }))]);
    integration.value = String(s["integration_id"] ?? "");
    chips.replaceChildren(
      ...(opts.variables ?? []).map((v) => {
        const chip = h("button", { type: "button", class: "wab-chip" }, v);
        chip.addEventListener("click", () => {
          const text = insertAt(payload.value, payload.selectionStart ?? payload.value.length, JSON.stringify(v).slice(1, -1));
          edit("payload", text);
          payload.value = text;
        });
        return chip;
      }),
    );
    // visibility
    const show = (node: HTMLElement, visible: boolean): void => void (node.hidden = !visible);
    show(metricRow, ["threshold", "change", "zscore"].includes(kind));
    for (const k of ["threshold", "change", "zscore", "state"] as const) show(sections.get(k)!, kind === k);
    show(sections.get("run-filter")!, kind !== "artifact");
    show(sections.get("artifact-filter")!, kind === "artifact");
    show(controls.get("run_filter_value")!.closest("label")!, s["run_filter_mode"] === "contains" || s["run_filter_mode"] === "regex");
    show(controls.get("artifact_filter_regex")!.closest("label")!, s["artifact_filter_field"] !== "none");
    show(sections.get("integration")!, s["action_type"] !== "NO_OP");
    show(sections.get("slack")!, s["action_type"] === "NOTIFICATION");
    show(sections.get("webhook")!, s["action_type"] === "GENERIC_WEBHOOK");
    // errors, summary, code, status
    for (const [key, slot] of errorSlots) {
      slot.textContent = errors[key] ?? "";
      slot.closest(".wab-row")?.classList.toggle("wab-invalid", Boolean(errors[key]));
    }
    sentence.textContent = describe(s);
    code.textContent = model.get("code") || "# The code appears here once the form is valid.";
    const st = model.get("status");
    const problems = Object.keys(errors).length;
    save.disabled = problems > 0 || st.state === "saving";
    save.textContent = model.get("editing_id") ? "Update automation" : "Save automation";
    status.textContent =
      st.state === "saved"
        ? `${st.message ?? "Saved"} (id ${st.id ?? ""})`
        : st.state === "error" || st.state === "saving"
          ? st.message ?? ""
          : problems
            ? `${problems} field${problems > 1 ? "s" : ""} to fix before saving`
            : "Ready to save";
    status.dataset["state"] = st.state ?? "idle";
    const recent = model.get("executions") ?? [];
    executions.hidden = !recent.length;
    executions.replaceChildren(
      h("div", { class: "wab-hint" }, "Recent executions"),
      ...recent.map((e) => {
        const what = String(e.event["run_name"] ?? e.event["artifact"] ?? "");
        const step = e.event["step"] !== undefined ? ` step ${String(e.event["step"])}` : "";
        const result = e.error || (e.response ? `HTTP ${e.response}` : "");
        return h("div", { class: "wab-execution", "data-status": e.status },
          `${e.time.slice(0, 19).replace("T", " ")}  ${e.status}${e.test ? " (test)" : ""}  ${what}${step}  ${result}`);
      }),
    );
    header.querySelector(".wab-connection")!.textContent = model.get("connection") + (opts.error ? ` (${opts.error})` : "");
  }

  const events = ["spec", "errors", "options", "status", "code", "connection", "editing_id", "executions"].map((n) => `change:${n}`);
  for (const event of events) model.on(event, refresh);
  refresh();
  return () => {
    for (const event of events) model.off(event, refresh);
    preview.dispose();
  };
}
