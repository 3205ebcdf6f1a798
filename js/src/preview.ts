// The preview panel: progress and cancel; then, for metric rules, advice, an overview of
// every run in scope (small multiples, firing runs first), a chart of one run with labelled
// axes, a log-scale toggle and a legend, the threshold sweep, and the table of fires; for
// run-state rules the runs that match; for artifact events the events that would fire.

import uPlot from "uplot";
import { h, setOptions, show } from "./dom";
import { POLICIES } from "./form";
import { call, CallError } from "./rpc";
import { aligned, canLog, join, overlayRuns, overviewOrder, read, sparkline, sweepField, thresholdLines, type Pair } from "./series";
import type { Store } from "./store";
import type { PreviewView, RunView } from "./types";

type Edit = (field: "threshold" | "change_amount" | "zscore_threshold" | "patience", value: string) => void;

interface Colours {
  fg: string;
  muted: string;
  accent: string;
  fire: string;
  grid: string;
}

function colours(root: HTMLElement): Colours {
  const style = getComputedStyle(root);
  const pick = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    fg: pick("--wab-fg", "#1f2328"),
    muted: pick("--wab-muted", "#59636e"),
    accent: pick("--wab-accent", "#0969da"),
    fire: pick("--wab-error", "#cf222e"),
    grid: pick("--wab-border", "#d0d7de"),
  };
}

/** Shade step ranges (a plateau's cooldowns) behind the series. */
function shadeRanges(u: uPlot, ranges: [number, number][], colour: string): void {
  if (!ranges.length) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = colour;
  for (const [from, to] of ranges) {
    const left = u.valToPos(from, "x", true);
    const right = u.valToPos(to, "x", true);
    ctx.fillRect(left, u.bbox.top, Math.max(1, right - left), u.bbox.height);
  }
  ctx.restore();
}

function axis(c: Colours, label: string, extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return { stroke: c.fg, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid }, label, labelSize: 18, ...extra };
}

const point = (size: number, fill: string, stroke: string): uPlot.Series.Points => ({ show: true, size, fill, stroke });

export function createPreview(store: Store, root: HTMLElement, edit: Edit): { element: HTMLElement; dispose: () => void } {
  const button = h("button", { type: "button", testid: "preview" }, "Backtest on logged history");
  const policy = h("select", { testid: "preview-policy" });
  setOptions(policy, POLICIES);
  const progress = h("progress", { testid: "preview-progress" });
  const cancel = h("button", { type: "button", testid: "preview-cancel" }, "Cancel");
  const message = h("div", { class: "wab-preview-message", testid: "preview-message" });
  const summary = h("p", { class: "wab-sentence", testid: "preview-summary" });
  const advice = h("ul", { class: "wab-advice", testid: "preview-advice" });
  const overview = h("div", { class: "wab-overview", testid: "preview-overview" });
  const runPicker = h("select", { testid: "preview-run" });
  const logToggle = h("input", { type: "checkbox", testid: "preview-log" });
  const logLabel = h("label", { class: "wab-toggle" }, logToggle, " log scale");
  const chartBox = h("div", { class: "wab-chart", testid: "preview-chart" });
  const sweepTitle = h("div", { class: "wab-hint" }, "Fires at other thresholds (click to use one):");
  const sweepCurrent = h("div", { class: "wab-hint", testid: "sweep-current" });
  const sweepBox = h("div", { class: "wab-chart wab-sweep", testid: "preview-sweep" });
  const table = h("table", { class: "wab-fires", testid: "preview-fires" });
  const matches = h("ul", { testid: "preview-matches" });
  const timeline = h("div", { class: "wab-chart", testid: "preview-timeline" });
  const events = h("table", { class: "wab-fires", testid: "preview-events" });
  const digest = h("pre", { class: "wab-code", testid: "preview-digest" });
  const nextTimes = h("ul", { testid: "preview-next-times" });
  const metricParts = [advice, overview, runPicker, logLabel, chartBox, sweepTitle, sweepCurrent, sweepBox, table];
  const section = h(
    "section",
    { class: "wab-section", testid: "section-preview" },
    h("h3", {}, "Preview"),
    h("div", { class: "wab-actions" }, button, policy, progress, cancel),
    message,
    summary,
    advice,
    h("div", { class: "wab-hint" }, "Every run in scope (firing runs first; click one to chart it):"),
    overview,
    h("div", { class: "wab-actions" }, runPicker, logLabel),
    chartBox,
    sweepTitle,
    sweepCurrent,
    sweepBox,
    table,
    matches,
    timeline,
    events,
    digest,
    nextTimes,
  );
  const overviewTitle = overview.previousElementSibling as HTMLElement;

  let chart: uPlot | null = null;
  let sweepChart: uPlot | null = null;
  let timelineChart: uPlot | null = null;
  let buffer: ArrayBuffer | null = null;
  let clickedAt = 0;
  let startedAt = 0;
  let pendingRender = 0;
  // While a preview runs, updates that bring only counts list runs without their arrays;
  // their drawings are those of the buffer already here (a run is drawn once, when evaluated).
  const drawn = new Map<string, RunView>();
  let currentRuns: RunView[] = [];

  function withDrawings(runs: RunView[]): RunView[] {
    return runs.map((run) => {
      if (run.evaluated) {
        drawn.set(run.id, run);
        return run;
      }
      const known = drawn.get(run.id);
      return known ? { ...known, ...run } : run;
    });
  }
  let running: AbortController | null = null;

  button.addEventListener("click", () => {
    clickedAt = startedAt = performance.now();
    delete root.dataset["previewRenderMs"];
    delete root.dataset["previewDoneMs"];
    drawn.clear();
    running = new AbortController();
    call(store.model, "_preview", { max_runs: 1000 }, { signal: running.signal }).catch((err: unknown) => {
      if (!(err instanceof CallError && err.reason === "cancelled")) message.textContent = `Preview failed: ${String(err)}`;
    });
  });
  cancel.addEventListener("click", () => {
    running?.abort();
    void call(store.model, "_cancel_preview", {}).catch(() => undefined);
  });
  policy.addEventListener("change", () => store.set("preview_policy", policy.value));
  runPicker.addEventListener("change", () => drawChart());
  logToggle.addEventListener("change", () => drawChart());

  const width = (): number => Math.max(320, Math.min(760, section.clientWidth || 760));
  const view = (): PreviewView => store.get("preview_view") ?? {};

  function destroyCharts(): void {
    chart?.destroy();
    sweepChart?.destroy();
    timelineChart?.destroy();
    chart = sweepChart = timelineChart = null;
  }

  function markRendered(): void {
    if (clickedAt) {
      root.dataset["previewRenderMs"] = String(Math.round(performance.now() - clickedAt));
      clickedAt = 0;
    }
  }

  // --- the chart of one run (or the firing runs overlaid) -----------------------------------
  function drawChart(): void {
    const v = view();
    const runs = currentRuns;
    chart?.destroy();
    chart = null;
    for (const card of overview.querySelectorAll<HTMLElement>(".wab-card")) {
      card.classList.toggle("wab-selected", card.dataset["run"] === runPicker.value);
    }
    if (!buffer || !runs.length) return;
    const c = colours(root);
    const drawn = runs.filter((r) => r.evaluated);
    const single = drawn.find((r) => r.id === runPicker.value);
    const shown: RunView[] = single ? [single] : overlayRuns(drawn);
    const sameScale = v.rule?.kind === "threshold" || v.rule?.kind === "plateau" || v.rule?.kind === "non_finite";
    const evalScale = sameScale ? "y" : "e";
    const axes = v.axes ?? { x: "step", raw: "value", evaluated: "evaluated" };
    const pairs: Pair[] = [];
    const series: uPlot.Series[] = [{ label: axes.x }];
    for (const run of shown) {
      if (!run.evaluated || !run.fires || !run.suppressed) continue;
      if (single && run.raw) {
        pairs.push(read(buffer, run.raw));
        series.push({ label: `${axes.raw} (raw)`, stroke: c.muted, width: 1, scale: "y" });
      }
      pairs.push(read(buffer, run.evaluated));
      series.push({ label: single ? axes.evaluated : run.name, stroke: c.accent, width: 2, scale: evalScale });
    }
    const lines = thresholdLines(v.rule);
    for (const fire of shown) {
      if (!fire.fires || !fire.suppressed) continue;
      pairs.push(read(buffer, fire.fires));
      series.push({ label: single ? "fires" : `fires: ${fire.name}`, stroke: c.fire, width: 0, paths: () => null, points: point(9, c.fire, c.fire), scale: evalScale });
      pairs.push(read(buffer, fire.suppressed));
      // Suppressed condition steps are context, not news: small, hollow and faint.
      series.push({ label: single ? "suppressed (policy)" : `suppressed: ${fire.name}`, stroke: c.muted, width: 0, paths: () => null, points: { show: true, size: 4, width: 1, fill: "transparent", stroke: c.muted }, scale: evalScale });
    }
    const overlays = single?.overlays ?? [];
    for (const overlay of overlays) {
      pairs.push(read(buffer, overlay.xy));
      const counting = overlay.scale === "count";
      series.push({ label: overlay.label, stroke: counting ? c.muted : c.fg, width: 1, dash: counting ? [2, 3] : [5, 3], scale: counting ? "count" : evalScale, points: { show: false } });
    }
    const shades = single?.shades ?? [];
    const table = join(pairs);
    const steps = table[0] ?? [];
    for (const value of lines) {
      table.push(steps.map(() => value));
      series.push({ label: `threshold ${value}`, stroke: c.fire, width: 1.5, dash: [6, 4], scale: evalScale, points: { show: false } });
    }
    const logScale = logToggle.checked && canLog(table.slice(1));
    logToggle.disabled = !canLog(table.slice(1));
    logLabel.title = logToggle.disabled ? "a log scale needs values above zero" : "";
    const distr = logScale ? 3 : 1;
    const yLabel = sameScale && single ? `${axes.raw}; ${axes.evaluated}` : single ? `${axes.raw} (raw)` : axes.evaluated;
    chart = new uPlot(
      {
        width: width(),
        height: 300,
        series,
        scales: { x: { time: false }, y: { distr }, ...(sameScale ? {} : { e: { distr: 1 } }), ...(overlays.length ? { count: { range: (_u, _lo, hi) => [0, Math.max(1, hi)] } } : {}) },
        axes: [
          axis(c, axes.x),
          axis(c, yLabel, { scale: "y" }),
          ...(sameScale ? [] : [axis(c, axes.evaluated, { scale: "e", side: 1 })]),
          ...(overlays.length ? [axis(c, "values without improvement", { scale: "count", side: 1 })] : []),
        ],
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false } }, // drag to zoom, double-click to reset
        hooks: { draw: [(u: uPlot) => shadeRanges(u, shades, c.muted), markRendered] },
      },
      table as uPlot.AlignedData,
      chartBox,
    );
  }

  // --- the overview: one small chart per run -------------------------------------------
  function drawOverview(): void {
    const v = view();
    const runs = overviewOrder(currentRuns);
    const c = colours(root);
    overview.replaceChildren(
      ...runs.map((run) => {
        const canvas = h("canvas", { width: "150", height: "44" });
        const card = h(
          "button",
          { type: "button", class: run.fire_count ? "wab-card wab-fired" : "wab-card", testid: "overview-run", "data-run": run.id, "data-fires": String(run.fire_count) },
          canvas,
          h("span", { class: "wab-card-name" }, run.name),
          h("span", { class: "wab-card-count" }, run.fire_count ? `${run.fire_count} fire${run.fire_count === 1 ? "" : "s"}${run.first_fire_step != null ? ` from step ${run.first_fire_step.toLocaleString()}` : ""}` : "no fires"),
        );
        card.classList.toggle("wab-selected", run.id === runPicker.value);
        card.addEventListener("click", () => {
          runPicker.value = run.id;
          drawChart();
        });
        if (buffer) paintSparkline(canvas, run, buffer, c);
        return card;
      }),
    );
  }

  function paintSparkline(canvas: HTMLCanvasElement, run: RunView, data: ArrayBuffer, c: Colours): void {
    const ctx = canvas.getContext("2d");
    if (!ctx || !run.evaluated) return;
    const [xs, ys] = read(data, run.evaluated);
    const lines = sparkline(xs, ys, canvas.width, canvas.height - 4);
    ctx.strokeStyle = run.fire_count ? c.fire : c.accent;
    ctx.lineWidth = 1;
    for (const line of lines) {
      ctx.beginPath();
      line.forEach(([x, y], i) => (i ? ctx.lineTo(x, y + 2) : ctx.moveTo(x, y + 2)));
      ctx.stroke();
    }
  }

  // --- the sweep -------------------------------------------------------------------------
  function drawSweep(): void {
    const v = view();
    sweepChart?.destroy();
    sweepChart = null;
    const points = v.sweep ?? [];
    for (const node of [sweepTitle, sweepCurrent, sweepBox]) show(node, points.length > 0);
    if (!points.length) return;
    const current = v.sweep_current;
    const parameter = v.sweep_parameter ?? "threshold";
    sweepCurrent.textContent = current
      ? `Current ${parameter} ${current.threshold}: ${current.fires.toLocaleString()} fire${current.fires === 1 ? "" : "s"} in ${current.runs} run${current.runs === 1 ? "" : "s"}.`
      : "";
    const c = colours(root);
    const integer = { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000], space: 28 };
    sweepChart = new uPlot(
      {
        width: width(),
        height: 200,
        scales: { x: { time: false, distr: v.sweep_log ? 3 : 1 }, fires: { range: (_u, _lo, hi) => [0, Math.max(1, hi)] }, runs: { range: (_u, _lo, hi) => [0, Math.max(1, hi)] } },
        series: [
          { label: parameter },
          { label: "fires", stroke: c.fire, width: 2, scale: "fires" },
          { label: "runs firing", stroke: c.accent, width: 2, scale: "runs" },
        ],
        axes: [axis(c, parameter), axis(c, "fires", { scale: "fires", ...integer }), axis(c, "runs firing", { scale: "runs", side: 1, ...integer })],
        cursor: { drag: { x: false, y: false } },
        hooks: {
          draw: [
            (u: uPlot) => {
              if (!current) return;
              const x = u.valToPos(current.threshold, "x", true);
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = c.fg;
              ctx.setLineDash([4, 3]);
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            },
          ],
        },
      },
      [points.map((p) => p.threshold), points.map((p) => p.fires), points.map((p) => p.runs)],
      sweepBox,
    );
    sweepBox.dataset["currentThreshold"] = current ? String(current.threshold) : "";
    sweepChart.over.style.cursor = "pointer";
    sweepChart.over.addEventListener("click", () => {
      const u = sweepChart;
      if (!u || u.cursor.left === undefined || u.cursor.left < 0) return;
      const value = u.posToVal(u.cursor.left, "x");
      const kind = view().rule?.kind;
      edit(sweepField(kind), kind === "plateau" ? String(Math.max(0, Math.round(value))) : String(Number(value.toPrecision(3))));
    });
  }

  function renderFires(): void {
    const fires = view().fires ?? [];
    table.replaceChildren();
    if (!fires.length) return;
    const head = table.createTHead().insertRow();
    for (const name of ["run", "step", "time (UTC)", "evaluated value"]) head.insertCell().textContent = name;
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
        drawChart();
      });
    }
    if (fires.length > 500) body.insertRow().insertCell().textContent = `... and ${fires.length - 500} more`;
  }

  // --- artifact events -----------------------------------------------------------------------
  function renderEvents(): void {
    const rows = view().events ?? [];
    events.replaceChildren();
    timelineChart?.destroy();
    timelineChart = null;
    show(timeline, rows.length > 0);
    if (!rows.length) return;
    const head = events.createTHead().insertRow();
    for (const name of ["time (UTC)", "collection", "version", "alias / tag", "would fire"]) head.insertCell().textContent = name;
    const body = events.createTBody();
    for (const event of rows) {
      const row = body.insertRow();
      row.dataset["fires"] = String(event.fires);
      row.insertCell().textContent = event.time;
      row.insertCell().textContent = event.collection;
      row.insertCell().textContent = event.version;
      row.insertCell().textContent = event.alias || event.tag || (event.aliases.length ? `(aliases: ${event.aliases.join(", ")})` : "");
      row.insertCell().textContent = event.fires ? "yes" : "no (filtered out)";
    }
    const c = colours(root);
    const seconds = rows.map((e) => Date.parse(`${e.time.replace(" ", "T")}Z`) / 1000);
    timelineChart = new uPlot(
      {
        width: width(),
        height: 130,
        scales: { x: { time: true }, y: { range: [-0.5, 1.5] } },
        series: [
          { label: "time" },
          { label: "would fire", stroke: c.fire, width: 0, paths: () => null, points: point(9, c.fire, c.fire) },
          { label: "filtered out", stroke: c.muted, width: 0, paths: () => null, points: { show: true, size: 6, width: 1, fill: "transparent", stroke: c.muted } },
        ],
        axes: [axis(c, "time (UTC)"), axis(c, "", { values: () => [] })],
        hooks: { draw: [markRendered] },
      },
      [seconds, rows.map((e) => (e.fires ? 1 : null)), rows.map((e) => (e.fires ? null : 0))],
      timeline,
    );
  }

  // --- what the trait says ---------------------------------------------------------------------
  function updateProgress(): void {
    const v = view();
    policy.value = store.get("preview_policy") || "wandb";
    const busy = v.state === "fetching" || v.state === "running";
    show(progress, busy);
    show(cancel, busy);
    button.disabled = busy;
    if (busy) {
      const done = v.done ?? 0;
      if (v.total) {
        progress.max = Math.max(1, v.total);
        progress.value = done;
      } else {
        progress.removeAttribute("value"); // still listing runs: indeterminate
      }
      message.textContent = done ? `Evaluated ${done.toLocaleString()} of ${v.total ? v.total.toLocaleString() : "the"} runs in scope${v.total ? "" : " (still listing)"}...` : "Finding runs...";
    } else {
      message.textContent = v.state === "error" ? (v.message ?? "Preview failed.") : "";
    }
    message.dataset["state"] = v.state ?? "idle";
  }

  // Batches can land faster than the browser draws: draw at most once a frame.
  function scheduleResult(): void {
    if (pendingRender) return;
    pendingRender = requestAnimationFrame(() => {
      pendingRender = 0;
      updateResult();
    });
  }

  function updateResult(): void {
    const v = view();
    if (v.state === "fetching") return; // the last result stays until the new one is ready
    const done = v.state === "done" || v.state === "running";
    if (v.state === "done" && startedAt) {
      root.dataset["previewDoneMs"] = String(Math.round(performance.now() - startedAt));
      startedAt = 0;
    }
    const metric = done && v.kind === "metric";
    show(summary, done);
    summary.textContent = v.summary ?? "";
    for (const node of [...metricParts, overviewTitle]) show(node, metric);
    show(matches, done && (v.kind === "state" || v.kind === "stalled"));
    show(events, done && v.kind === "artifact");
    show(digest, done && v.kind === "digest");
    show(nextTimes, done && v.kind === "digest");
    digest.textContent = v.digest_text ?? "";
    nextTimes.replaceChildren(...(v.next_times ?? []).map((t) => h("li", {}, `next: ${t.replace("T", " ")}`)));
    destroyCharts();
    matches.replaceChildren(...(v.matches ?? []).map((m) => h("li", {}, `${m.run_name}: ${m.state}`)));
    if (done && v.kind === "artifact") {
      renderEvents();
      return;
    }
    show(timeline, false);
    if (!metric) return;
    advice.replaceChildren(...(v.advice ?? []).map((a) => h("li", { "data-kind": a.kind }, a.text)));
    show(advice, (v.advice ?? []).length > 0);
    const raw = store.get("preview_buffer");
    buffer = raw ? aligned(raw) : null;
    const runs = (currentRuns = withDrawings(v.runs ?? []));
    const previous = runPicker.value;
    setOptions(runPicker, [
      { value: "", label: `all runs (the ${Math.min(10, runs.length)} that fire most, overlaid)` },
      ...runs.map((r) => ({ value: r.id, label: `${r.name}: ${r.fire_count} fire${r.fire_count === 1 ? "" : "s"}, ${r.points.toLocaleString()} points` })),
    ]);
    const firstFiring = overviewOrder(runs).find((r) => r.fire_count > 0);
    runPicker.value = runs.some((r) => r.id === previous) ? previous : (firstFiring?.id ?? runs[0]?.id ?? "");
    drawOverview();
    drawChart();
    drawSweep();
    renderFires();
  }

  store.watch(["preview_view", "preview_policy"], updateProgress);
  store.watch(["preview_view", "preview_buffer"], scheduleResult);
  return {
    element: section,
    dispose: () => {
      cancelAnimationFrame(pendingRender);
      destroyCharts();
    },
  };
}
