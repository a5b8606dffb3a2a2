// The grokking lab: a page that trains a model live on the WebAssembly core (in a worker, so
// the page stays responsive) and draws it memorising, then grokking, with its Fourier picture
// forming. The URL carries the config, so a link reproduces a run; the run's files download
// with the bytes the CLI writes; a run folder's files dropped on the page are drawn, and a
// checkpoint among them trains on.

import { wrap, proxy, type Remote } from "comlink";
import embed from "vega-embed";
import type { Analysis, ProgressPoint } from "../core/analysis.js";
import { DEFAULTS, resolveConfig, type RunConfig } from "../core/config.js";
import type { Metrics, Summary } from "../core/train.js";
import { curves, excludedLoss, expandMatrix, fourierProgress, logitHeatmap, progressMeasures, spectrum, type Chart, type Matrix, type Row } from "../report/charts.js";
import type { Lab, LabEvent, RunFiles } from "./lab.worker.js";

const lab: Remote<Lab> = wrap<Lab>(new Worker(new URL("./lab.worker.js", import.meta.url), { type: "module" }));
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** The form's fields: config keys the URL and the form carry. */
const FIELDS = ["task", "p", "frac", "seed", "steps", "eval_every"] as const;
const isolated = globalThis.crossOriginIsolated === true;
const cores = Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));

interface State {
  config?: RunConfig;
  metrics: Metrics[];
  progress: ProgressPoint[];
  analysis?: Analysis;
  summary?: Summary;
  running: boolean;
  paused: boolean;
}
const state: State = { metrics: [], progress: [], running: false, paused: false };

function init(): void {
  const params = new URLSearchParams(location.search);
  for (const f of FIELDS) $<HTMLInputElement>(f).value = params.get(f) ?? String(DEFAULTS[f]);
  $<HTMLInputElement>("until_grokked").checked = params.get("until_grokked") !== "false";
  const workers = $<HTMLSelectElement>("workers");
  for (let n = 1; n <= (isolated ? cores : 1); n++) workers.add(new Option(String(n), String(n)));
  workers.value = String(Math.min(Number(params.get("workers") ?? cores), isolated ? cores : 1));
  $("isolation").textContent = isolated
    ? `Cross-origin isolated: training can share each step among ${cores} worker threads.`
    : "This page is not cross-origin isolated (served without COOP/COEP headers): training runs on one thread. `grok serve` sends the headers.";
  $("start").addEventListener("click", () => void start());
  $("pause").addEventListener("click", () => void togglePause());
  $("stop").addEventListener("click", () => void lab.stop());
  for (const [id, name] of [["dl-model", "model.safetensors"], ["dl-metrics", "metrics.jsonl"], ["dl-config", "config.json"], ["dl-progress", "progress.jsonl"], ["dl-checkpoint", "checkpoint"]] as const) {
    $(id).addEventListener("click", () => void download(name));
  }
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); void dropped([...(e.dataTransfer?.files ?? [])]); });
  $<HTMLInputElement>("files").addEventListener("change", (e) => void dropped([...((e.target as HTMLInputElement).files ?? [])]));
  setControls();
}

function overrides(): Record<string, string | boolean> {
  const o: Record<string, string | boolean> = {};
  for (const f of FIELDS) o[f] = $<HTMLInputElement>(f).value.trim();
  o.until_grokked = $<HTMLInputElement>("until_grokked").checked;
  return o;
}

/** Checks the form like the CLI checks its options; the message goes beside the field it names. */
function validate(o: Record<string, string | boolean>): RunConfig | null {
  for (const f of FIELDS) $(`${f}-error`).textContent = "";
  try {
    return resolveConfig(o);
  } catch (e) {
    const message = (e as Error).message;
    const field = FIELDS.find((f) => message.includes(`--${f.replace("_", "-")}`)) ?? "task";
    $(`${field}-error`).textContent = message;
    return null;
  }
}

async function start(resume?: { bytes: Uint8Array; metrics: string; progress: string }, from?: Record<string, string | boolean>): Promise<void> {
  const o = from ?? overrides();
  if (!validate(o)) return;
  const workers = Number($<HTMLSelectElement>("workers").value);
  history.replaceState(null, "", `?${new URLSearchParams({ ...Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)])), workers: String(workers) })}`);
  Object.assign(state, { metrics: [], progress: [], analysis: undefined, summary: undefined, running: true, paused: false });
  setControls();
  status("starting…");
  await lab.start(o, workers, proxy(onEvent), resume);
  state.running = false;
  setControls();
}

async function togglePause(): Promise<void> {
  state.paused = !state.paused;
  await (state.paused ? lab.pause() : lab.resume());
  setControls();
  status(state.paused ? `paused at step ${state.metrics.at(-1)?.step ?? 0}` : "training…");
}

function onEvent(e: LabEvent): void {
  switch (e.type) {
    case "started":
      state.config = e.config;
      status(`training on ${e.workers} thread${e.workers > 1 ? "s" : ""}${e.resumedAt !== null ? `, from step ${e.resumedAt}` : ""}…`);
      break;
    case "eval":
      state.metrics.push(e.metrics);
      status(`step ${e.step}: train acc ${e.metrics.train_acc.toFixed(3)}, test acc ${e.metrics.test_acc.toFixed(3)}${e.msPerStep ? `, ${e.msPerStep.toFixed(1)} ms/step` : ""}`);
      break;
    case "progress":
      state.progress.push(e.point);
      break;
    case "analysis":
      state.analysis = e.analysis;
      break;
    case "done":
      state.summary = e.summary;
      status(`${e.summary.stopped === "interrupted" ? "stopped" : "done"} at step ${e.summary.steps}: ${e.summary.grokked_step !== null ? `grokked at step ${e.summary.grokked_step}` : "did not grok"} (${e.summary.ms_per_step.toFixed(1)} ms/step)`);
      $("status").dataset.done = "true";
      break;
    case "error":
      status(`error: ${e.message}`);
      $("task-error").textContent = e.message;
      break;
  }
  scheduleDraw();
}

function status(text: string): void {
  $("status").textContent = text;
}

function setControls(): void {
  $<HTMLButtonElement>("start").disabled = state.running;
  $<HTMLButtonElement>("pause").disabled = !state.running;
  $<HTMLButtonElement>("stop").disabled = !state.running;
  $("pause").textContent = state.paused ? "Resume" : "Pause";
}

// Redraws at most every 400 ms: an evaluation can come faster than the charts draw.
let drawPending = false;
function scheduleDraw(): void {
  if (drawPending) return;
  drawPending = true;
  setTimeout(() => { drawPending = false; void draw(); }, 400);
}

/** Memorisation and grokking as the metrics show them so far (every task, for a mixture). */
function eventsSoFar(tasks: string[]): Summary {
  const first = (ok: (m: Metrics) => boolean): number | null => state.metrics.find(ok)?.step ?? null;
  const every = (key: "train_acc" | "test_acc") => (m: Metrics): boolean => (tasks.length > 1 ? tasks.every((t) => (m[`${key}/${t}`] ?? 0) >= 0.99) : m[key] >= 0.99);
  return { ...(state.summary ?? ({} as Summary)), memorized_step: first(every("train_acc")), grokked_step: first(every("test_acc")), ...(tasks.length > 1 ? { tasks: {} } : {}) };
}

async function draw(): Promise<void> {
  if (!state.config) return;
  const tasks = state.config.task.split(",").map((t) => state.analysis?.tasks.find((a) => a.formula === t || a.task === t)?.task ?? t);
  const taskNames = state.analysis ? state.analysis.tasks.map((t) => t.task) : tasks;
  const summary = eventsSoFar(taskNames);
  const a = state.analysis;
  const keys = a ? [...new Set(a.tasks.flatMap((t) => t.key_frequencies))] : [];
  const charts: Chart[] = [
    curves("acc", state.metrics, summary, taskNames),
    curves("loss", state.metrics, summary, taskNames),
    fourierProgress(state.metrics, summary),
    ...(state.progress.length > 1 ? progressMeasures(state.progress, state.metrics, summary, taskNames.length > 1 ? taskNames[0]! : null) : []),
    ...(a ? [
      spectrum("spectrumE", a.spectrum_E, `W_E spectrum: FFD ${a.ffd_E.toFixed(3)}, FCR ${a.fcr_E.toFixed(3)}`, keys),
      spectrum("spectrumL", a.spectrum_L, `W_L spectrum: FFD ${a.ffd_L.toFixed(3)}, FCR ${a.fcr_L.toFixed(3)}`, keys),
      logitHeatmap(a.tasks[0]!, ""),
      excludedLoss(a.tasks[0]!, ""),
    ] : []),
  ];
  const grid = $("charts");
  for (const c of charts) {
    let box = document.getElementById(`chart-${c.id}`);
    if (!box) {
      const figure = document.createElement("figure");
      figure.innerHTML = `<figcaption></figcaption><div class="chart" id="chart-${c.id}"></div>`;
      grid.append(figure);
      box = document.getElementById(`chart-${c.id}`)!;
    }
    box.parentElement!.querySelector("figcaption")!.textContent = c.title;
    const spec = { ...c.spec, datasets: Object.fromEntries(Object.entries(c.data).map(([name, d]) => [name, Array.isArray(d) ? d : expandMatrix(d as Matrix)])) as Record<string, Row[]> };
    await embed(box, spec, { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "svg" });
  }
  grid.dataset.drawn = String(state.metrics.length);
}

async function download(name: keyof RunFiles): Promise<void> {
  const files = await lab.files();
  if (!files) return status("nothing to download yet: start a run");
  const file = files[name];
  if (!file) return status("no checkpoint yet");
  const [fileName, bytes] = typeof file === "object" && "name" in file ? [file.name, file.bytes] : [name, file as string | Uint8Array];
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart]));
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** A run folder's files: drawn, and with a training-state checkpoint among them, trained on. */
async function dropped(files: File[]): Promise<void> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const text = async (n: string): Promise<string | undefined> => byName.get(n)?.text();
  const config = await text("config.json"), metrics = await text("metrics.jsonl");
  const model = byName.get("model.safetensors");
  const checkpoint = files.find((f) => /^step-\d+\.safetensors$/.test(f.name));
  if (!config || !metrics || !(model || checkpoint)) {
    status("drop a run folder's config.json, metrics.jsonl and model.safetensors (or a checkpoint step-N.safetensors to train on)");
    return;
  }
  try {
    if (checkpoint) {
      const saved = JSON.parse(config) as Record<string, unknown>;
      const o = Object.fromEntries(Object.keys(DEFAULTS).filter((k) => k in saved && k !== "init_from").map((k) => [k, typeof saved[k] === "boolean" ? (saved[k] as boolean) : String(saved[k])]));
      for (const f of FIELDS) $<HTMLInputElement>(f).value = String(o[f] ?? DEFAULTS[f]);
      await start({ bytes: new Uint8Array(await checkpoint.arrayBuffer()), metrics, progress: (await text("progress.jsonl")) ?? "" }, o);
      return;
    }
    const view = await lab.view({ config, metrics, model: new Uint8Array(await model!.arrayBuffer()), progress: await text("progress.jsonl") });
    Object.assign(state, { config: view.config, metrics: view.metrics, progress: view.progress, analysis: view.analysis, summary: undefined });
    status(`viewing a run: ${view.config.task} mod ${view.config.p}, ${view.metrics.at(-1)?.step ?? 0} steps`);
    await draw();
  } catch (e) {
    status(`cannot read those files: ${(e as Error).message}`);
  }
}

init();
