// @vitest-environment happy-dom
// The view's wiring over a fake widget model, without a browser or a kernel: what the user
// does reaches the traits and Python's commands, and what Python answers reaches the page.

import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBuilder } from "../src/builder";
import { DEFAULT_SPEC } from "../src/form";
import { call, CallError } from "../src/rpc";
import { Store } from "../src/store";
import type { Model } from "../src/types";

type Handler = (...args: unknown[]) => void;
interface Command {
  id: string;
  kind: string;
  name: string;
  msg: unknown;
}

/** A widget model as anywidget gives the view one; ``sent`` holds commands to Python. */
class FakeModel {
  readonly state: Model;
  readonly sent: Command[] = [];
  saves = 0;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(overrides: Partial<Model> = {}) {
    this.state = {
      spec: { ...DEFAULT_SPEC, scope_id: "P1", scope_name: "mnist" },
      errors: {},
      options: {
        projects: [{ id: "P1", name: "mnist" }],
        integrations: [
          { id: "S1", kind: "slack", name: "#alerts" },
          { id: "W1", kind: "webhook", name: "hook" },
        ],
        metrics: ["val/loss"],
        variables: ["${run_name}"],
        automations: [
          { id: "A1", name: "saved-one", editable: true, note: "" },
          { id: "A2", name: "launch-job", editable: false, note: "not editable here: QueueJobTriggeredAction" },
        ],
      },
      status: { state: "idle" },
      code: "",
      connection: "Connected to the W&B server at http://127.0.0.1:1",
      editing_id: "",
      preview_view: {},
      preview_buffer: null,
      preview_policy: "wandb",
      executions: [],
      ...overrides,
    };
  }

  get<K extends keyof Model>(key: K): Model[K] {
    return this.state[key];
  }

  set<K extends keyof Model>(key: K, value: Model[K]): void {
    this.state[key] = value;
    this.emit(`change:${String(key)}`);
  }

  save_changes(): void {
    this.saves += 1;
  }

  on(event: string, handler: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(handler);
  }

  off(event?: string | null, handler?: Handler | null): void {
    if (event && handler) this.handlers.get(event)?.delete(handler);
  }

  send(content: Command): void {
    this.sent.push(content);
  }

  emit(event: string, ...args: unknown[]): void {
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }

  /** Python's answer to the last command called ``name``. */
  answer(name: string, response: unknown): void {
    const command = [...this.sent].reverse().find((c) => c.name === name);
    if (!command) throw new Error(`no ${name} command was sent`);
    this.emit("msg:custom", { id: command.id, kind: "anywidget-command-response", response }, []);
  }

  listeners(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }
}

function mount(model: FakeModel): { root: HTMLElement; dispose: () => void } {
  const el = document.createElement("div");
  document.body.append(el);
  const dispose = createBuilder(new Store(model as unknown as AnyModel<Model>), el);
  return { root: el, dispose };
}

const byTestId = <T extends HTMLElement>(root: HTMLElement, id: string): T =>
  root.querySelector<T>(`[data-testid="${id}"]`)!;

let model: FakeModel;
beforeEach(() => {
  model = new FakeModel();
});
afterEach(() => {
  vi.useRealTimers();
  document.body.replaceChildren();
});

describe("the form", () => {
  it("writes what the user types into the spec, numbers as numbers", () => {
    const { root } = mount(model);
    const threshold = byTestId<HTMLInputElement>(root, "threshold");
    threshold.value = "0.25";
    threshold.dispatchEvent(new Event("input"));
    expect(model.state.spec.threshold).toBe(0.25);
    expect(model.saves).toBeGreaterThan(0);
  });

  it("shows each error at its field and clears it when the error goes", () => {
    const { root } = mount(model);
    model.set("errors", { name: "Give the automation a name", threshold: "Enter a number" });
    expect(byTestId(root, "error-name").textContent).toBe("Give the automation a name");
    expect(byTestId(root, "error-threshold").closest(".wab-row")!.classList.contains("wab-invalid")).toBe(true);
    expect(byTestId<HTMLButtonElement>(root, "save").disabled).toBe(true);
    expect(byTestId(root, "status").textContent).toBe("2 fields to fix before saving");
    model.set("errors", {});
    expect(byTestId(root, "error-name").textContent).toBe("");
    expect(byTestId(root, "status").textContent).toBe("Ready to save");
  });

  it("switching the action clears the integration and offers only the fitting kind", () => {
    model.state.spec = { ...model.state.spec, action_type: "NOTIFICATION", integration_id: "S1" };
    const { root } = mount(model);
    const action = byTestId<HTMLSelectElement>(root, "action-type");
    action.value = "GENERIC_WEBHOOK";
    action.dispatchEvent(new Event("change"));
    expect(model.state.spec.integration_id).toBe("");
    const integration = byTestId<HTMLSelectElement>(root, "integration");
    expect([...integration.options].map((o) => o.value)).toEqual(["", "W1"]);
    expect(integration.value).toBe("");
  });

  it("never overwrites the field the user is typing in", () => {
    const { root } = mount(model);
    const name = byTestId<HTMLInputElement>(root, "name");
    name.focus();
    name.value = "half-typ";
    model.set("spec", { ...model.state.spec, name: "something else" });
    expect(name.value).toBe("half-typ");
  });

  it("lists saved automations, those it cannot edit disabled with why", () => {
    const { root } = mount(model);
    const open = byTestId<HTMLSelectElement>(root, "open-saved");
    const options = [...open.options].map((o) => [o.value, o.textContent, o.disabled]);
    expect(options).toEqual([
      ["", "New automation (or open a saved one...)", false],
      ["A1", "saved-one", false],
      ["A2", "launch-job (not editable here: QueueJobTriggeredAction)", true],
    ]);
  });
});

describe("round trips to Python", () => {
  it("saves: the command goes out, and the status Python sets is shown", async () => {
    const { root } = mount(model);
    byTestId<HTMLButtonElement>(root, "save").click();
    expect(byTestId(root, "status").textContent).toBe("Saving...");
    expect(model.sent.map((c) => [c.kind, c.name])).toEqual([["anywidget-command", "_save"]]);
    model.set("status", { state: "saved", message: "Saved 'x'", id: "T1", name: "x" });
    model.set("editing_id", "T1");
    model.answer("_save", { ok: true });
    await vi.waitFor(() => expect(byTestId(root, "status").textContent).toBe("Saved 'x' (id T1)"));
    expect(byTestId(root, "save").textContent).toBe("Update automation");
  });

  it("a save that gets no answer says so instead of hanging", async () => {
    vi.useFakeTimers();
    const { root } = mount(model);
    byTestId<HTMLButtonElement>(root, "save").click();
    await vi.advanceTimersByTimeAsync(120_001);
    expect(byTestId(root, "status").textContent).toBe(
      "Save failed: no answer from Python after 120 s (is the kernel busy or gone?)",
    );
    expect(byTestId(root, "status").dataset["state"]).toBe("error");
    expect(model.listeners("msg:custom")).toBe(0); // nothing left listening
  });

  it("cancelling a preview stops waiting for it and tells Python", async () => {
    const { root } = mount(model);
    byTestId<HTMLButtonElement>(root, "preview").click();
    model.set("preview_view", { state: "fetching", done: 0, total: null });
    expect(byTestId(root, "preview-message").textContent).toBe("Finding runs...");
    model.set("preview_view", { state: "running", done: 1, total: null });
    expect(byTestId(root, "preview-message").textContent).toBe("Evaluated 1 of the runs in scope (still listing)...");
    expect(byTestId<HTMLProgressElement>(root, "preview-progress").hasAttribute("value")).toBe(false);
    model.set("preview_view", { state: "running", done: 1, total: 4 });
    expect(byTestId(root, "preview-message").textContent).toBe("Evaluated 1 of 4 runs in scope...");
    expect(byTestId<HTMLProgressElement>(root, "preview-progress").value).toBe(1);
    byTestId<HTMLButtonElement>(root, "preview-cancel").click();
    expect(model.sent.map((c) => c.name)).toEqual(["_preview", "_cancel_preview"]);
    await vi.waitFor(() => expect(model.listeners("msg:custom")).toBe(1)); // only the cancel's
    expect(byTestId(root, "preview-message").textContent).toBe("Evaluated 1 of 4 runs in scope...");
  });

  it("opening a saved automation it cannot edit shows why", async () => {
    const { root } = mount(model);
    const open = byTestId<HTMLSelectElement>(root, "open-saved");
    open.value = "A1";
    open.dispatchEvent(new Event("change"));
    expect(model.sent[model.sent.length - 1]).toMatchObject({ name: "_open", msg: { id: "A1" } });
    model.answer("_open", { ok: false, message: "Not editable here: it uses X." });
    await vi.waitFor(() => expect(byTestId(root, "status").textContent).toBe("Not editable here: it uses X."));
  });

  it("call() rejects with the reason, and unsubscribes, on timeout and on abort", async () => {
    vi.useFakeTimers();
    const fake = model as unknown as AnyModel;
    const timedOut = call(fake, "_slow", {}, { timeoutMs: 1000 });
    const check = expect(timedOut).rejects.toMatchObject({ reason: "timeout" });
    await vi.advanceTimersByTimeAsync(1001);
    await check;
    const controller = new AbortController();
    const aborted = call(fake, "_slow", {}, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(CallError);
    expect(model.listeners("msg:custom")).toBe(0);
  });

  it("disposing the view unsubscribes from every trait", () => {
    const { dispose } = mount(model);
    expect(model.listeners("change:spec")).toBeGreaterThan(0);
    dispose();
    for (const key of Object.keys(model.state)) expect(model.listeners(`change:${key}`)).toBe(0);
  });
});
