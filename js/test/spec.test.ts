import { describe as group, expect, it } from "vitest";
import { DEFAULT_SPEC, type Spec } from "../src/form";
import { applyEdit, coerce, describe, insertAt, kindOf, markExtensions, scopeChoices } from "../src/spec";
import { ACTION_TYPES, EVENT_TYPES } from "../src/form";
import { sweepField, thresholdLines } from "../src/series";

const spec = (fields: Partial<Spec>): Spec => ({ ...DEFAULT_SPEC, ...fields });

const options = {
  projects: [
    { id: "P1", name: "mnist" },
    { id: "R1", name: "wandb-registry-model" },
  ],
  collections: [{ id: "C1", name: "classifier", typename: "ArtifactSequence" }],
};

group("coerce", () => {
  it("keeps ints as ints and floats as floats for numeric fields", () => {
    expect(coerce("window", "5")).toBe(5);
    expect(coerce("threshold", "0.5")).toBe(0.5);
  });
  it("leaves text the user is still typing for Python to report", () => {
    expect(coerce("threshold", "0.5x")).toBe("0.5x");
    expect(coerce("threshold", "")).toBe("");
    expect(coerce("metric", "12")).toBe("12");
  });
});

group("applyEdit", () => {
  it("switching to a run event resets an artifact-collection scope", () => {
    const before = spec({ event_type: "CREATE_ARTIFACT", scope_id: "C1", scope_name: "classifier", scope_typename: "ArtifactSequence" });
    const next = applyEdit(before, "event_type", "RUN_METRIC");
    expect(next).toMatchObject({ event_type: "RUN_METRIC", scope_id: "", scope_typename: "Project" });
  });
  it("keeps other fields when the event type changes", () => {
    const next = applyEdit(spec({ event_type: "RUN_METRIC", metric: "loss", window: 5 }), "event_type", "RUN_METRIC_CHANGE");
    expect(next).toMatchObject({ metric: "loss", window: 5 });
  });
  it("switching the action drops the integration of the other kind", () => {
    const slack = spec({ action_type: "NOTIFICATION", integration_id: "SLACK1" });
    expect(applyEdit(slack, "action_type", "GENERIC_WEBHOOK").integration_id).toBe("");
    expect(applyEdit(slack, "action_type", "NO_OP").integration_id).toBe("");
    expect(applyEdit(slack, "title", "x").integration_id).toBe("SLACK1");
  });
});

group("scopeChoices", () => {
  it("offers only projects for run events", () => {
    expect(scopeChoices(options, "RUN_METRIC").map((c) => c.label)).toEqual(["project mnist"]);
  });
  it("offers only collections for OnCreateArtifact", () => {
    expect(scopeChoices(options, "CREATE_ARTIFACT").map((c) => c.id)).toEqual(["C1"]);
  });
  it("offers projects, registries and collections for other artifact events", () => {
    expect(scopeChoices(options, "ADD_ARTIFACT_ALIAS").map((c) => c.label)).toEqual([
      "project mnist",
      "registry model",
      "collection classifier",
    ]);
  });
});

group("describe", () => {
  it("says what a threshold automation does", () => {
    const text = describe(spec({
      event_type: "RUN_METRIC", metric: "val/loss", agg: "AVERAGE", window: 5, cmp: "$gt",
      threshold: 0.5, run_filter_mode: "any", scope_name: "mnist",
    }));
    expect(text).toBe("Fires when the average of the last 5 values of val/loss is above 0.5, in any run of mnist.");
  });
  it("says what a relative change does, as a percentage", () => {
    const text = describe(spec({
      event_type: "RUN_METRIC_CHANGE", metric: "acc", change_dir: "DECREASE", change_type: "RELATIVE",
      change_amount: 0.1, change_window: 10, prior_window: 50, run_filter_mode: "contains", run_filter_value: "bert",
    }));
    expect(text).toContain("acc falls by at least 10%");
    expect(text).toContain('runs whose name contains "bert"');
  });
  it("lists run states", () => {
    expect(describe(spec({ event_type: "RUN_STATE", states: ["FAILED", "FINISHED"], run_filter_mode: "any" }))).toBe(
      "Fires when any run becomes failed or finished.",
    );
  });
  it("says '?' while the threshold is empty, never a blank", () => {
    const text = describe(spec({ metric: "loss", agg: "", threshold: "" }));
    expect(text).toBe("Fires when loss is above ?, in any run.");
  });
});

group("helpers", () => {
  it("kindOf falls back to threshold", () => {
    expect(kindOf("RUN_METRIC_ZSCORE")).toBe("zscore");
    expect(kindOf("nope")).toBe("threshold");
  });
  it("insertAt puts a variable at the caret", () => {
    expect(insertAt('{"run": ""}', 9, "${run_name}")).toBe('{"run": "${run_name}"}');
  });
});

group("extension rules", () => {
  it("are marked only where the server cannot run them", () => {
    const marked = markExtensions(EVENT_TYPES, false).filter((e) => e.label.endsWith("(embedded engine only)"));
    expect(marked.map((e) => e.value)).toEqual(["RUN_METRIC_PLATEAU", "RUN_METRIC_NON_FINITE", "RUN_STALLED", "SCHEDULE"]);
    expect(markExtensions(EVENT_TYPES, true).some((e) => e.label.includes("embedded"))).toBe(false);
    expect(markExtensions(ACTION_TYPES, false).find((a) => a.value === "STOP_RUN")?.label).toBe("Stop the run (embedded engine only)");
  });
  it("describe what they do", () => {
    const spec: Spec = { ...DEFAULT_SPEC, metric: "val/loss", scope_name: "proj", patience: 7 };
    expect(kindOf("RUN_METRIC_PLATEAU")).toBe("plateau");
    expect(describe({ ...spec, event_type: "RUN_METRIC_PLATEAU" })).toBe(
      "Fires when val/loss stops improving on its lowest value (7 values of patience), in any run of proj.",
    );
    expect(describe({ ...spec, event_type: "RUN_STALLED", stalled_minutes: 15 })).toBe(
      "Fires when any run of proj is running but logs nothing for 15 minutes, and again when it resumes.",
    );
  });
  it("sweep patience, with no threshold line", () => {
    expect(sweepField("plateau")).toBe("patience");
    expect(thresholdLines({ kind: "plateau", cmp: "min", threshold: 1e-4, patience: 10 })).toEqual([]);
  });
});
