// The widget's traits as the view sees them (the Python side is widget/builder.py).

import type { Spec } from "./form";

export interface Integration {
  id: string;
  kind: "slack" | "webhook";
  name: string;
}

export interface SavedAutomation {
  id: string;
  name: string;
  editable: boolean;
  note: string;
}

export interface Options {
  entity?: string;
  projects?: { id: string; name: string }[];
  collections?: { id: string; name: string; typename: string }[];
  integrations?: Integration[];
  metrics?: string[];
  variables?: string[];
  automations?: SavedAutomation[];
  error?: string;
  /** Whether the server runs the extension rules (plateau, non-finite, stalled, StopRun). */
  extensions?: boolean;
  /** One sentence for rules whose numbers are hard to read (a plateau's). */
  explanation?: string;
  /** Where the automation in the form will run (W&B, the embedded engine, or a watcher). */
  where?: string;
}

export interface Status {
  state?: "idle" | "saving" | "saved" | "error";
  message?: string;
  id?: string;
  name?: string;
}

export interface Execution {
  time: string;
  status: string;
  event: Record<string, unknown>;
  attempts: number;
  response: number | null;
  error: string;
  test: boolean;
}

export interface ArrayRef {
  offset: number;
  length: number;
  dtype: "<f8" | "<f4"; // x columns are float32 when the steps fit exactly
}

export interface RunView {
  id: string;
  name: string;
  points: number;
  /** The arrays drawn; absent while a run is counted but its arrays are not yet sent. */
  raw?: [ArrayRef, ArrayRef];
  evaluated?: [ArrayRef, ArrayRef];
  fires?: [ArrayRef, ArrayRef];
  suppressed?: [ArrayRef, ArrayRef];
  fire_count: number;
  condition_count: number;
  first_fire_step?: number | null;
  /** A plateau's state machine: best so far, the value to beat, values without improvement. */
  overlays?: { label: string; scale: "e" | "count"; xy: [ArrayRef, ArrayRef] }[];
  /** Cooldowns after fires, as [from step, to step]. */
  shades?: [number, number][];
}

export interface Fire {
  run: string;
  run_name: string;
  step: number;
  time: string;
  value: number;
}

export interface SweepPoint {
  threshold: number;
  fires: number;
  runs: number;
}

export interface ArtifactEventRow {
  time: string;
  collection: string;
  version: string;
  alias: string;
  tag: string;
  aliases: string[];
  fires: boolean;
}

export interface PreviewView {
  /** fetching: nothing evaluated yet; running: batches so far (partial); done: finished. */
  state?: "fetching" | "running" | "done" | "error";
  /** Whether Cancel stopped a finished preview early (what it shows is what was evaluated). */
  cancelled?: boolean;
  kind?: "metric" | "state" | "stalled" | "artifact" | "digest";
  /** A digest preview: the message as it would be sent (Slack text or webhook JSON). */
  digest_text?: string;
  /** A schedule's next firing times (ISO, in its time zone). */
  next_times?: string[];
  message?: string;
  done?: number;
  /** Runs in scope; null while they are still being listed. */
  total?: number | null;
  summary?: string;
  runs?: RunView[];
  fires?: Fire[];
  fire_count?: number;
  matches?: { run: string; run_name: string; state: string; time: string }[];
  sweep?: SweepPoint[];
  sweep_current?: SweepPoint | null;
  sweep_log?: boolean;
  /** What the sweep varies: "threshold" (the default) or "patience". */
  sweep_parameter?: string;
  rule?: { kind: "threshold" | "change" | "zscore" | "plateau" | "non_finite"; cmp: string; threshold: number; patience?: number };
  axes?: { x: string; raw: string; evaluated: string };
  advice?: { kind: string; text: string }[];
  events?: ArtifactEventRow[];
  event_label?: string;
  bytes?: number;
}

/** Every trait the view reads or writes. */
export interface Model {
  spec: Spec;
  errors: Record<string, string>;
  options: Options;
  status: Status;
  code: string;
  connection: string;
  editing_id: string;
  preview_view: PreviewView;
  preview_buffer: DataView | null;
  preview_policy: string;
  executions: Execution[];
}
