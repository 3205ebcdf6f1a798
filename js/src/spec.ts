// The builder's pure logic around the form state. No DOM here: vitest covers it.

import {
  ACTION_TYPES,
  AGGREGATIONS,
  COMPARISONS,
  EVENT_TYPES,
  NUMERIC_FIELDS,
  type Choice,
  type EventKind,
  type Spec,
  type SpecField,
} from "./form";
import type { Options } from "./types";

export type EditValue = string | boolean | string[];

export function kindOf(eventType: unknown): EventKind {
  return EVENT_TYPES.find((e) => e.value === eventType)?.kind ?? "threshold";
}

export function isRunEvent(eventType: unknown): boolean {
  return kindOf(eventType) !== "artifact";
}

/** The integration kind an action sends through ("" for none). */
export function integrationKind(actionType: unknown): "" | "slack" | "webhook" | "any" {
  return ACTION_TYPES.find((a) => a.value === actionType)?.integration ?? "";
}

/** A form input's text as the value the spec stores: numbers stay numbers when they parse,
 * so that the Python side sees 10 (int) or 0.5 (float) exactly as typed. */
export function coerce(field: string, raw: EditValue): unknown {
  if (typeof raw !== "string" || !NUMERIC_FIELDS.has(field)) return raw;
  const text = raw.trim();
  if (text === "" || Number.isNaN(Number(text))) return raw; // Python reports the error
  return Number(text);
}

/** The spec after the user edits one field. Changing the event type keeps every other
 * value, so switching back and forth loses nothing; changing the action drops the
 * integration, which belongs to the other kind (the form then asks for one). */
export function applyEdit(spec: Spec, field: SpecField, raw: EditValue): Spec {
  const next = { ...spec, [field]: coerce(field, raw) } as Spec;
  if (field === "event_type" && isRunEvent(raw) && next.scope_typename !== "Project") {
    next.scope_id = ""; // run events need a project scope
    next.scope_name = "";
    next.scope_typename = "Project";
  }
  if (field === "action_type" && integrationKind(raw) !== integrationKind(spec.action_type)) {
    next.integration_id = "";
  }
  return next;
}

export interface ScopeChoice {
  id: string;
  name: string;
  typename: string;
  label: string;
}

/** Scopes the event type allows: projects for run events; for artifact events also
 * registries and collections. OnCreateArtifact needs a collection. */
export function scopeChoices(options: Options, eventType: unknown): ScopeChoice[] {
  const projects = (options.projects ?? []).map((p) => ({
    id: p.id,
    name: p.name,
    typename: "Project",
    label: p.name.startsWith("wandb-registry-") ? `registry ${p.name.slice("wandb-registry-".length)}` : `project ${p.name}`,
  }));
  if (isRunEvent(eventType)) return projects.filter((p) => p.label.startsWith("project"));
  const collections = (options.collections ?? []).map((c) => ({
    id: c.id,
    name: c.name,
    typename: c.typename,
    label: `collection ${c.name}`,
  }));
  return eventType === "CREATE_ARTIFACT" ? collections : [...projects, ...collections];
}

/** A spec value for a sentence: what was typed, or "?" while it is missing. */
function fmt(value: unknown): string {
  if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) return "?";
  return String(value);
}

/** One sentence that says what the automation will do, in the user's terms. */
export function describe(spec: Spec): string {
  const metric = spec.metric ? String(spec.metric) : "the metric";
  const where = spec.scope_name ? ` of ${spec.scope_name}` : "";
  const runs =
    spec.run_filter_mode === "contains"
      ? `runs whose name contains "${spec.run_filter_value}"`
      : spec.run_filter_mode === "regex"
        ? `runs whose name matches /${spec.run_filter_value}/`
        : spec.run_filter_mode === "custom"
          ? "runs that match the custom filter"
          : "any run";
  switch (kindOf(spec.event_type)) {
    case "threshold": {
      const agg = AGGREGATIONS.find((a) => a.value === (spec.agg ?? ""));
      const value = agg && agg.value ? `the ${agg.label} of the last ${fmt(spec.window)} values of ${metric}` : metric;
      const cmp = COMPARISONS.find((c) => c.value === spec.cmp)?.label ?? "?";
      return `Fires when ${value} ${cmp.replace(/ \(.*\)/, "")} ${fmt(spec.threshold)}, in ${runs}${where}.`;
    }
    case "change": {
      const dir = { INCREASE: "rises", DECREASE: "falls", ANY: "moves" }[spec.change_dir] ?? "moves";
      const amount =
        spec.change_type === "RELATIVE" && fmt(spec.change_amount) !== "?" && !Number.isNaN(Number(spec.change_amount))
          ? `${Number(spec.change_amount) * 100}%`
          : fmt(spec.change_amount);
      return `Fires when ${metric} ${dir} by at least ${amount} (last ${fmt(spec.change_window)} values against the ${fmt(spec.prior_window)} before), in ${runs}${where}.`;
    }
    case "zscore": {
      const side = { INCREASE: "above", DECREASE: "below", ANY: "away from" }[spec.zscore_dir] ?? "away from";
      return `Fires when ${metric} is ${fmt(spec.zscore_threshold)} standard deviations or more ${side} the mean of its last ${fmt(spec.zscore_window)} values, in ${runs}${where}.`;
    }
    case "plateau": {
      const best = spec.plateau_mode === "max" ? "highest" : "lowest";
      return `Fires when ${metric} stops improving on its ${best} value (${fmt(spec.patience)} values of patience), in ${runs}${where}.`;
    }
    case "non_finite":
      return `Fires when ${metric} is logged as NaN or infinity, in ${runs}${where}.`;
    case "schedule":
      return `Runs on the schedule "${spec.cron}" (${spec.timezone}), for ${spec.scope_name || "the project"}.`;
    case "stalled":
      return `Fires when ${runs}${where} is running but logs nothing for ${fmt(spec.stalled_minutes)} minutes${spec.stalled_resolved ? ", and again when it resumes" : ""}.`;
    case "state": {
      const states = spec.states.map((s) => s.toLowerCase()).join(" or ") || "?";
      return `Fires when ${runs}${where} becomes ${states}.`;
    }
    default: {
      const label = EVENT_TYPES.find((e) => e.value === spec.event_type)?.label ?? "An artifact event";
      const filter =
        spec.artifact_filter_field !== "none" && spec.artifact_filter_regex
          ? ` (${spec.artifact_filter_field} matches /${spec.artifact_filter_regex}/)`
          : "";
      return `Fires when ${label.charAt(0).toLowerCase()}${label.slice(1)}${filter}${where}.`;
    }
  }
}

/** Choices with the extensions marked when the server cannot run them. */
export function markExtensions<C extends Choice>(choices: C[], supported: boolean): C[] {
  return choices.map((c) => (c.extension && !supported ? { ...c, label: `${c.label} (embedded engine only)` } : c));
}

/** Insert a template variable into the payload text at the caret. */
export function insertAt(text: string, caret: number, variable: string): string {
  const at = Math.max(0, Math.min(caret, text.length));
  return text.slice(0, at) + variable + text.slice(at);
}
