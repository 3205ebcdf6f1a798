// The form's fields, defaults and choices: one JSON file read by Python (widget/spec.py)
// and bundled here, so the two sides can never disagree on a field name or a choice.

import form from "../../wandb_auto_widget/widget/form.json";

type Defaults = typeof form.default_spec;

/** The builder's form state (the ``spec`` trait): numbers may hold what the user typed. */
export type Spec = {
  [K in keyof Defaults]: Defaults[K] extends number ? number | string : Defaults[K];
};
export type SpecField = keyof Spec;
export type EventKind = "threshold" | "change" | "zscore" | "plateau" | "non_finite" | "state" | "stalled" | "schedule" | "artifact";

export interface Choice {
  value: string;
  label: string;
  /** Only this package's engine runs it (marked where the server is W&B). */
  extension?: boolean;
}
export interface EventChoice extends Choice {
  kind: EventKind;
}
export interface ActionChoice extends Choice {
  integration: "" | "slack" | "webhook" | "any";
}

export const DEFAULT_SPEC: Spec = form.default_spec;
export const EVENT_TYPES = form.event_types as EventChoice[];
export const AGGREGATIONS: Choice[] = form.aggregations;
export const COMPARISONS: Choice[] = form.comparisons;
export const ACTION_TYPES = form.action_types as ActionChoice[];
export const RUN_STATES: string[] = form.run_states;
export const POLICIES: Choice[] = form.policies;
export const NUMERIC_FIELDS = new Set<string>(form.numeric_fields);
