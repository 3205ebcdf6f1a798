// The preview panel: progress and cancel, a uPlot chart of the backtest, the table of
// fires, and the threshold sweep.

import type { AnyModel, Experimental } from "@anywidget/types";
import uPlot from "uplot";
import {
  aligned,
  join,
  overlayRuns,
  read,
  sweepField,
  thresholdLines,
  type PreviewView,
  type RunView,
} from "./series";
import type { Model } from "./view";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, testid: string, text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (testid) node.dataset["testid"] = testid;
  node.textContent = text;
  return node;
}

function colours(root: HTMLElement): { fg: string; muted: string; accent: string; fire: string; grid: string } {
  const style = getComputedStyle(root);
  const pick = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    fg: pick("--wab-fg", "#1f2328"),
    muted: pick("--wab-muted", "#59636e"),
    accent: pick("--wab-accent", "#0969da"),
    fire: pick("--wab-error", "#cf222e"),
    grid: pick("--wab-border", "#d0d7de"),
  };
}

export function renderPreview(
  model: AnyModel<Model>,
  root: HTMLElement,
  experimental: Experimental,
  editSpec: (field: string, value: string) => void,
): { element: HTMLElement; dispose: () => void } {
  const section = el("section", "section-preview");
  section.className = "wab-section";
  const title = el("h3", "", "Preview");
  const controls = document.createElement("div");
  controls.className = "wab-actions";
  const button = el("button", "preview", "Backtest on logged history");
  button.type = "button";
  const policy = el("select", "preview-policy");
  for (const [value, label] of [["wandb", "at most once per run per 24 h (W&B)"], ["every", "every step the condition holds"], ["edge", "only when it starts to hold"]]) {
    const option = document.createElement("option");
    option.value = value!;
    option.textContent = label!;
    policy.append(option);
  }
  const progress = el("progress", "preview-progress");
  const cancel = el("button", "preview-cancel", "Cancel");
  cancel.type = "button";
  controls.append(button, policy, progress, cancel);
  const message = el("div", "preview-message");
  message.className = "wab-preview-message";
  const summary = el("p", "preview-summary");
  summary.className = "wab-sentence";
  const runPicker = el("select", "preview-run");
  const chartBox = el("div", "preview-chart");
  chartBox.className = "wab-chart";
  const sweepTitle = el("div", "", "Fires at other thresholds (click to use one):");
  sweepTitle.className = "wab-hint";
  const sweepBox = el("div", "preview-sweep");
  sweepBox.className = "wab-chart wab-sweep";
  const table = el("table", "preview-fires");
  table.className = "wab-fires";
  const matches = el("ul", "preview-matches");
  section.append(title, controls, message, summary, runPicker, chartBox, sweepTitle, sweepBox, table, matches);

  let chart: uPlot | null = null;
  let sweepChart: uPlot | null = null;
  let clickedAt = 0;
  let buffer: ArrayBuffer | null = null;

  button.addEventListener("click", () => {
    clickedAt = performance.now();
    delete root.dataset["previewRenderMs"];
    void experimental.invoke("_preview", { max_runs: 100 });
  });
  cancel.addEventListener("click", () => void experimental.invoke("_cancel_preview", {}));
  policy.addEventListener("change", () => {
    model.set("preview_policy", policy.value);
    model.save_changes();
  });
  runPicker.addEventListener("change", () => draw());

  function width(): number {
    return Math.max(320, Math.min(720, section.clientWidth || 720));
  }

  function draw(): void {
    const view = model.get("preview_view");
    const runs = view.runs ?? [];
    chart?.destroy();
    chart = null;
    if (!buffer || !runs.length) return;
    const c = colours(root);
    const chosen = runPicker.value;
    const single = runs.find((r) => r.id === chosen);
    const shown: RunView[] = single ? [single] : overlayRuns(runs);
    const pairs = [];
    const series: uPlot.Series[] = [{ label: "step" }];
    const lines = thresholdLines(view.rule);
    const sameScale = view.rule?.kind === "threshold";
    for (const run of shown) {
      if (single) {
        pairs.push(read(buffer, run.raw));
        series.push({ label: `${run.name} (raw)`, stroke: c.muted, width: 1, scale: "y", alpha: 0.35 } as uPlot.Series);
      }
      pairs.push(read(buffer, run.evaluated));
      series.push({ label: single ? `${run.name} (evaluated)` : run.name, stroke: c.accent, width: 2, scale: sameScale ? "y" : "e" });
    }
    for (const run of shown) {
      pairs.push(read(buffer, run.fires));
      series.push({ label: `fires: ${run.name}`, stroke: c.fire, fill: c.fire, width: 0, paths: () => null, points: { show: true, size: 9, fill: c.fire, stroke: c.fire }, scale: sameScale ? "y" : "e" });
      pairs.push(read(buffer, run.suppressed));
      // Suppressed condition steps are context, not news: small, hollow and faint.
      series.push({ label: `suppressed: ${run.name}`, stroke: c.muted, width: 0, alpha: 0.45, paths: () => null, points: { show: true, size: 3, width: 1, fill: "transparent", stroke: c.muted }, scale: sameScale ? "y" : "e" } as uPlot.Series);
    }
    const axis = { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
    const options: uPlot.Options = {
      width: width(),
      height: 260,
      series,
      scales: { x: { time: false } },
      axes: [{ ...axis }, { ...axis, scale: "y" }, ...(sameScale ? [] : [{ ...axis, scale: "e", side: 1 }])],
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } }, // drag to zoom, double-click to reset
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = c.fire;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5;
            for (const value of lines) {
              const y = u.valToPos(value, sameScale ? "y" : "e", true);
              ctx.beginPath();
              ctx.moveTo(u.bbox.left, y);
              ctx.lineTo(u.bbox.left + u.bbox.width, y);
              ctx.stroke();
            }
            ctx.restore();
            if (clickedAt) {
              root.dataset["previewRenderMs"] = String(Math.round(performance.now() - clickedAt));
              clickedAt = 0;
            }
          },
        ],
      },
    };
    chart = new uPlot(options, join(pairs) as uPlot.AlignedData, chartBox);
  }

  function drawSweep(view: PreviewView): void {
    sweepChart?.destroy();
    sweepChart = null;
    const points = view.sweep ?? [];
    sweepBox.hidden = sweepTitle.hidden = !points.length;
    if (!points.length) return;
    const c = colours(root);
    const axis = { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
    sweepChart = new uPlot(
      {
        width: width(),
        height: 140,
        scales: { x: { time: false } },
        series: [
          { label: "threshold" },
          { label: "fires", stroke: c.fire, width: 2 },
          { label: "runs affected", stroke: c.accent, width: 2, scale: "runs" },
        ],
        axes: [{ ...axis }, { ...axis }, { ...axis, scale: "runs", side: 1 }],
        cursor: { drag: { x: false, y: false } },
      },
      [points.map((p) => p.threshold), points.map((p) => p.fires), points.map((p) => p.runs)],
      sweepBox,
    );
    const overlay = sweepChart.over;
    overlay.style.cursor = "pointer";
    overlay.addEventListener("click", () => {
      const u = sweepChart;
      if (!u || u.cursor.left === undefined || u.cursor.left < 0) return;
      const value = u.posToVal(u.cursor.left, "x");
      editSpec(sweepField(view.rule?.kind), String(Number(value.toPrecision(3))));
    });
  }

  function renderTable(view: PreviewView): void {
    const fires = view.fires ?? [];
    table.replaceChildren();
    if (!fires.length) return;
    const head = table.createTHead().insertRow();
    for (const name of ["run", "step", "time (UTC)", "value"]) head.insertCell().textContent = name;
    const body = table.createTBody();
    for (const fire of fires.slice(0, 500)) {
      const row = body.insertRow();
      row.dataset["run"] = fire.run;
      row.insertCell().textContent = fire.run_name;
      row.insertCell().textContent = fire.step.toLocaleString();
      row.insertCell().textContent = fire.time;
      row.insertCell().textContent = Number.isFinite(fire.value) ? fire.value.toPrecision(4) : "";
      row.addEventListener("click", () => {
        runPicker.value = fire.run;
        draw();
      });
    }
    if (fires.length > 500) body.insertRow().insertCell().textContent = `... and ${fires.length - 500} more`;
  }

  function refresh(): void {
    const view = model.get("preview_view") ?? {};
    policy.value = model.get("preview_policy") || "wandb";
    const busy = view.state === "fetching";
    progress.hidden = cancel.hidden = !busy;
    button.disabled = busy;
    if (busy) {
      progress.max = Math.max(1, view.total ?? 1);
      progress.value = view.done ?? 0;
      message.textContent = view.total ? `Fetching history: ${view.done ?? 0} of ${view.total} runs` : "Finding runs...";
    } else {
      message.textContent = view.state === "error" ? view.message ?? "Preview failed." : "";
    }
    message.dataset["state"] = view.state ?? "idle";
    summary.hidden = view.state !== "done";
    summary.textContent = view.summary ?? "";
    const done = view.state === "done" && view.kind === "metric";
    runPicker.hidden = chartBox.hidden = table.hidden = !done;
    matches.hidden = !(view.state === "done" && view.kind === "state");
    matches.replaceChildren(
      ...(view.matches ?? []).map((m) => {
        const item = document.createElement("li");
        item.textContent = `${m.run_name}: ${m.state}`;
        return item;
      }),
    );
    if (!done) {
      chart?.destroy();
      sweepChart?.destroy();
      chart = sweepChart = null;
      sweepBox.hidden = sweepTitle.hidden = true;
      return;
    }
    const raw = model.get("preview_buffer");
    buffer = raw ? aligned(raw) : null;
    const runs = view.runs ?? [];
    const previous = runPicker.value;
    runPicker.replaceChildren(
      new Option(`all runs (the ${Math.min(10, runs.length)} that fire most, overlaid)`, ""),
      ...runs.map((r) => new Option(`${r.name}: ${r.fire_count} fire${r.fire_count === 1 ? "" : "s"}, ${r.points.toLocaleString()} points`, r.id)),
    );
    const firstFiring = runs.find((r) => r.fire_count > 0);
    runPicker.value = runs.some((r) => r.id === previous) ? previous : firstFiring?.id ?? "";
    draw();
    drawSweep(view);
    renderTable(view);
  }

  const events = ["change:preview_view", "change:preview_policy"];
  for (const event of events) model.on(event, refresh);
  refresh();
  return {
    element: section,
    dispose: () => {
      for (const event of events) model.off(event, refresh);
      chart?.destroy();
      sweepChart?.destroy();
    },
  };
}
