// The builder's form state and the pure logic around it. No DOM here: vitest covers it.

export type Spec = Record<string, unknown>;
export type Kind = "threshold" | "change" | "zscore" | "state" | "artifact";

export interface EventChoice {
  value: string;
  label: string;
  kind: Kind;
}

export const EVENT_TYPES: EventChoice[] = [
  { value: "RUN_METRIC", label: "A run metric crosses a threshold", kind: "threshold" },
  { value: "RUN_METRIC_CHANGE", label: "A run metric changes by an amount", kind: "change" },
  { value: "RUN_METRIC_ZSCORE", label: "A run metric is an outlier (z-score)", kind: "zscore" },
  { value: "RUN_STATE", label: "A run changes state", kind: "state" },
  { value: "CREATE_ARTIFACT", label: "An artifact version is created", kind: "artifact" },
  { value: "LINK_MODEL", label: "An artifact is linked to a registry", kind: "artifact" },
  { value: "UNLINK_ARTIFACT", label: "An artifact is unlinked", kind: "artifact" },
  { value: "ADD_ARTIFACT_ALIAS", label: "An alias is added to an artifact", kind: "artifact" },
  { value: "ADD_ARTIFACT_TAG", label: "A tag is added to an artifact", kind: "artifact" },
  { value: "REMOVE_ARTIFACT_TAG", label: "A tag is removed from an artifact", kind: "artifact" },
  { value: "ADD_COLLECTION_TAG", label: "A tag is added to a collection", kind: "artifact" },
  { value: "REMOVE_COLLECTION_TAG", label: "A tag is removed from a collection", kind: "artifact" },
];

export const AGGREGATIONS = [
  { value: "", label: "latest value" },
  { value: "AVERAGE", label: "average" },
  { value: "MIN", label: "minimum" },
  { value: "MAX", label: "maximum" },
];

export const COMPARISONS = [
  { value: "$gt", label: "is above (>)" },
  { value: "$gte", label: "is at least (>=)" },
  { value: "$lt", label: "is below (<)" },
  { value: "$lte", label: "is at most (<=)" },
  { value: "$eq", label: "equals (==)" },
  { value: "$ne", label: "does not equal (!=)" },
];

const NUMERIC = new Set([
  "window",
  "threshold",
  "change_window",
  "prior_window",
  "change_amount",
  "zscore_window",
  "zscore_threshold",
]);

export function kindOf(eventType: unknown): Kind {
  return EVENT_TYPES.find((e) => e.value === eventType)?.kind ?? "threshold";
}

export function isRunEvent(eventType: unknown): boolean {
  return kindOf(eventType) !== "artifact";
}

/** A form input's text as the value the spec stores: numbers stay numbers when they parse,
 * so that the Python side sees 10 (int) or 0.5 (float) exactly as typed. */
export function coerce(field: string, raw: string | boolean | string[]): unknown {
  if (typeof raw !== "string" || !NUMERIC.has(field)) return raw;
  const text = raw.trim();
  if (text === "" || Number.isNaN(Number(text))) return raw; // Python reports the error
  return Number(text);
}

/** The spec after the user edits one field. Changing the event type keeps every other
 * value, so switching back and forth loses nothing. */
export function applyEdit(spec: Spec, field: string, raw: string | boolean | string[]): Spec {
  const next: Spec = { ...spec, [field]: coerce(field, raw) };
  if (field === "event_type" && isRunEvent(raw) && next["scope_typename"] !== "Project") {
    next["scope_id"] = ""; // run events need a project scope
    next["scope_name"] = "";
    next["scope_typename"] = "Project";
  }
  return next;
}

export interface ScopeChoice {
  id: string;
  name: string;
  typename: string;
  label: string;
}

interface Options {
  projects?: { id: string; name: string }[];
  collections?: { id: string; name: string; typename: string }[];
}

/** Scopes the event type allows: projects for run events; for artifact events also
 * registries and collections. OnCreateArtifact needs a collection. */
export function scopeChoices(options: Options, eventType: unknown): ScopeChoice[] {
  const projects = (options.projects ?? []).map((p) => ({
    id: p.id,
    name: p.name,
    typename: "Project",
    label: p.name.startsWith("wandb-registry-")
      ? `registry ${p.name.slice("wandb-registry-".length)}`
      : `project ${p.name}`,
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

function fmt(value: unknown): string {
  return typeof value === "number" ? String(value) : String(value ?? "?");
}

/** One sentence that says what the automation will do, in the user's terms. */
export function describe(spec: Spec): string {
  const metric = String(spec["metric"] || "the metric");
  const where = spec["scope_name"] ? ` of ${String(spec["scope_name"])}` : "";
  const runs =
    spec["run_filter_mode"] === "contains"
      ? `runs whose name contains "${String(spec["run_filter_value"])}"`
      : spec["run_filter_mode"] === "regex"
        ? `runs whose name matches /${String(spec["run_filter_value"])}/`
        : "any run";
  switch (kindOf(spec["event_type"])) {
    case "threshold": {
      const agg = AGGREGATIONS.find((a) => a.value === (spec["agg"] ?? ""));
      const value = agg && agg.value ? `the ${agg.label} of the last ${fmt(spec["window"])} values of ${metric}` : `${metric}`;
      const cmp = COMPARISONS.find((c) => c.value === spec["cmp"])?.label ?? "?";
      return `Fires when ${value} ${cmp.replace(/ \(.*\)/, "")} ${fmt(spec["threshold"])}, in ${runs}${where}.`;
    }
    case "change": {
      const dir = { INCREASE: "rises", DECREASE: "falls", ANY: "moves" }[String(spec["change_dir"])] ?? "moves";
      const amount =
        spec["change_type"] === "RELATIVE"
          ? `${Number(spec["change_amount"]) * 100}%`
          : fmt(spec["change_amount"]);
      return `Fires when ${metric} ${dir} by at least ${amount} (last ${fmt(spec["change_window"])} values against the ${fmt(spec["prior_window"])} before), in ${runs}${where}.`;
    }
    case "zscore": {
      const side = { INCREASE: "above", DECREASE: "below", ANY: "away from" }[String(spec["zscore_dir"])] ?? "away from";
      return `Fires when ${metric} is ${fmt(spec["zscore_threshold"])} standard deviations or more ${side} the mean of its last ${fmt(spec["zscore_window"])} values, in ${runs}${where}.`;
    }
    case "state": {
      const states = (spec["states"] as string[] | undefined) ?? [];
      return `Fires when ${runs}${where} becomes ${states.map((s) => s.toLowerCase()).join(" or ") || "?"}.`;
    }
    default: {
      const label = EVENT_TYPES.find((e) => e.value === spec["event_type"])?.label ?? "An artifact event";
      const filter =
        spec["artifact_filter_field"] !== "none" && spec["artifact_filter_regex"]
          ? ` (${String(spec["artifact_filter_field"])} matches /${String(spec["artifact_filter_regex"])}/)`
          : "";
      return `Fires when ${label.charAt(0).toLowerCase()}${label.slice(1)}${filter}${where}.`;
    }
  }
}

/** Insert a template variable into the payload text at the caret. */
export function insertAt(text: string, caret: number, variable: string): string {
  const at = Math.max(0, Math.min(caret, text.length));
  return text.slice(0, at) + variable + text.slice(at);
}
