// Petri's dashboard. Every text that comes from a run (names, tags, config, errors) is put in
// the page with textContent, never as HTML.
"use strict";

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"];

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(4)));
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 16) : "-";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 120) return seconds.toFixed(1) + " s";
  if (seconds < 7200) return (seconds / 60).toFixed(1) + " min";
  return (seconds / 3600).toFixed(1) + " h";
}

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showWarning(id, text) {
  const node = document.getElementById(id);
  if (!node) return;
  node.hidden = !text;
  node.textContent = text || "";
}

function colorOf(label) {  // stable: the same run gets the same colour on every page
  let hash = 0;
  for (const ch of label) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

function smooth(values, weight) {  // TensorBoard's exponential moving average
  if (!weight) return values;
  let last = null;
  return values.map((v) => {
    if (v === null) return null;
    last = last === null ? v : last * weight + (1 - weight) * v;
    return last;
  });
}

// ------------------------------------------------------------------------------ runs page
const runsState = { offset: 0, limit: 50, sort: "created", desc: true, selected: new Set() };

async function loadRuns() {
  const filter = document.getElementById("filter").value;
  const params = new URLSearchParams({ filter, sort: runsState.sort,
    desc: runsState.desc ? "1" : "0", offset: runsState.offset, limit: runsState.limit });
  let data;
  try {
    data = await getJSON("/api/runs?" + params);
    showWarning("message", "");
  } catch (error) {
    showWarning("message", error.message);
    return;
  }
  renderRuns(data);
}

function renderRuns(data) {
  const table = document.getElementById("runs");
  const head = table.tHead, body = table.tBodies[0];
  head.replaceChildren(); body.replaceChildren();
  const columns = [["", null], ["name", "name"], ["version", "version"], ["status", "status"],
    ["created", "created"], ["duration", null], ["last step", "step"],
    ...data.metrics.map((m) => [m, m]), ...data.varying_tags.map((t) => [t, t])];
  const row = el("tr");
  for (const [label, key] of columns) {
    const th = el("th", label + (key && key === runsState.sort ? (runsState.desc ? " ▼" : " ▲") : ""));
    if (key) th.addEventListener("click", () => {
      runsState.desc = runsState.sort === key ? !runsState.desc : true;
      runsState.sort = key; runsState.offset = 0; loadRuns();
    });
    row.appendChild(th);
  }
  head.appendChild(row);
  const group = document.getElementById("group").checked;
  let lastName = null;
  for (const run of data.runs) {
    if (group && run.name !== lastName) {
      const groupRow = el("tr", null, "group");
      const cell = el("td", run.name);
      cell.colSpan = columns.length;
      groupRow.appendChild(cell);
      body.appendChild(groupRow);
      lastName = run.name;
    }
    const id = run.name + "/" + run.version;
    const tr = el("tr", null, "run");
    tr.dataset.run = id;
    const check = el("input"); check.type = "checkbox"; check.checked = runsState.selected.has(id);
    check.addEventListener("change", () => {
      if (check.checked) runsState.selected.add(id); else runsState.selected.delete(id);
      document.getElementById("compare").disabled = runsState.selected.size < 2;
    });
    const checkCell = el("td"); checkCell.appendChild(check); tr.appendChild(checkCell);
    const link = el("a", run.name); link.href = "/run/" + encodeURIComponent(run.name) + "/" + run.version;
    const nameCell = el("td"); nameCell.appendChild(link); tr.appendChild(nameCell);
    tr.appendChild(el("td", run.version));
    const statusCell = el("td"); statusCell.appendChild(el("span", run.status, "status " + run.status));
    if (run.warning) statusCell.appendChild(el("span", " ⚠", "warning-mark")).title = run.warning;
    tr.appendChild(statusCell);
    tr.appendChild(el("td", when(run.created)));
    tr.appendChild(el("td", duration(run.duration)));
    tr.appendChild(el("td", fmt(run.last_step)));
    for (const m of data.metrics) tr.appendChild(el("td", fmt(run.metrics[m])));
    for (const t of data.varying_tags) tr.appendChild(el("td", fmt(run.tags[t])));
    body.appendChild(tr);
  }
  const first = data.total ? data.offset + 1 : 0;
  document.getElementById("count").textContent =
    `${data.total} runs` + (data.total ? ` (${first}-${data.offset + data.runs.length} shown)` : "");
  document.getElementById("prev").disabled = data.offset === 0;
  document.getElementById("next").disabled = data.offset + data.runs.length >= data.total;
}

function runsPage() {
  const params = new URLSearchParams(location.search);
  document.getElementById("filter").value = params.get("filter") || "";
  document.getElementById("filter-form").addEventListener("submit", (event) => {
    event.preventDefault(); runsState.offset = 0; loadRuns();
  });
  let typing = null;
  document.getElementById("filter").addEventListener("input", () => {
    clearTimeout(typing); typing = setTimeout(() => { runsState.offset = 0; loadRuns(); }, 200);
  });
  document.getElementById("group").addEventListener("change", loadRuns);
  document.getElementById("prev").addEventListener("click", () => {
    runsState.offset = Math.max(0, runsState.offset - runsState.limit); loadRuns();
  });
  document.getElementById("next").addEventListener("click", () => {
    runsState.offset += runsState.limit; loadRuns();
  });
  document.getElementById("compare").addEventListener("click", () => {
    location.href = "/compare?runs=" + encodeURIComponent([...runsState.selected].join(","));
  });
  loadRuns();
  listStudies().catch(() => {});
}

// ------------------------------------------------------------------------------- run page
function highlightYaml(text, pre) {  // keys, comments and quoted strings; the rest as is
  for (const line of text.split("\n")) {
    const comment = line.match(/^(\s*)(#.*)$/);
    const pair = line.match(/^(\s*-?\s*)([\w./\[\]-]+)(:)(.*)$/);
    if (comment) {
      pre.append(comment[1]); pre.appendChild(el("span", comment[2], "c"));
    } else if (pair) {
      pre.append(pair[1]); pre.appendChild(el("span", pair[2], "k")); pre.append(pair[3]);
      const value = pair[4];
      if (/^\s*["'].*["']\s*$/.test(value)) pre.appendChild(el("span", value, "s"));
      else pre.append(value);
    } else {
      pre.append(line);
    }
    pre.append("\n");
  }
}

function metricSeries(columns, rows) {
  const skip = new Set(["global_step", "step", "created_at", "epoch"]);
  return columns.filter((c) => !skip.has(c) && rows.some((r) => typeof r[c] === "number"));
}

function xOf(row, axis) {
  if (axis === "time") return row.created_at ? new Date(row.created_at * 1000) : null;
  return row.global_step !== undefined ? row.global_step : row.step;
}

class RunCharts {
  constructor(container, runs) {
    this.container = container; this.runs = runs; this.rows = runs.map(() => []);
    this.columns = []; this.charts = new Map();
  }
  settings() {
    return { axis: document.getElementById("x-axis")?.value || "step",
             log: document.getElementById("log-scale")?.checked || false,
             smoothing: Number(document.getElementById("smoothing")?.value || 0) };
  }
  add(index, columns, rows) {
    for (const c of columns) if (!this.columns.includes(c)) this.columns.push(c);
    this.rows[index] = this.rows[index].concat(rows);
  }
  draw() {
    const { axis, log, smoothing } = this.settings();
    const all = this.rows.flat();
    for (const metric of metricSeries(this.columns, all)) {
      let div = this.charts.get(metric);
      if (!div) {
        div = el("div", null, "chart"); div.dataset.metric = metric;
        this.container.appendChild(div); this.charts.set(metric, div);
      }
      const traces = this.runs.map((label, i) => {
        const points = this.rows[i].filter((r) => typeof r[metric] === "number");
        return { name: label, mode: "lines+markers", marker: { size: 4 },
                 line: { color: colorOf(label) },
                 x: points.map((r) => xOf(r, axis)),
                 y: smooth(points.map((r) => r[metric]), smoothing) };
      }).filter((t) => t.x.length);
      Plotly.react(div, traces, { title: { text: metric, font: { size: 13 } },
        margin: { l: 50, r: 10, t: 30, b: 35 }, showlegend: this.runs.length > 1,
        yaxis: { type: log ? "log" : "linear" }, xaxis: { title: axis === "time" ? "" : "step" } },
        { responsive: true, displaylogo: false });
    }
  }
}

async function runPage() {
  const [, , name, version] = location.pathname.split("/");
  const api = `/api/runs/${name}/${version}`;
  let run;
  try {
    run = await getJSON(api);
  } catch (error) {
    showWarning("warning", "No such run: " + error.message);
    return;
  }
  document.title = `${run.name}/${run.version} - Petri`;
  document.getElementById("title").textContent = `${run.name} / version ${run.version}`;
  const status = document.getElementById("status");
  status.textContent = run.status; status.className = "status " + run.status;
  showWarning("warning", run.warning);
  if (run.meta && run.meta.error) showWarning("error", run.meta.error);
  const tags = document.getElementById("tags");
  for (const [key, value] of Object.entries(run.tags)) {
    const tr = el("tr"); tr.appendChild(el("th", key)); tr.appendChild(el("td", fmt(value)));
    if (run.default_tags.includes(key)) tr.className = "default";
    tags.appendChild(tr);
  }
  if (run.config) highlightYaml(run.config, document.getElementById("config"));
  document.getElementById("git").textContent = run.meta && run.meta.git ? JSON.stringify(run.meta.git, null, 2) : "-";
  const files = document.getElementById("files");
  for (const item of [...run.checkpoints, ...run.exports]) {
    const tr = el("tr"); tr.appendChild(el("td", item.path));
    tr.appendChild(el("td", (item.bytes / 1024).toFixed(1) + " KB")); files.appendChild(tr);
  }
  const charts = new RunCharts(document.getElementById("charts"), [`${run.name}/${run.version}`]);
  let next = 0;
  async function poll() {
    const data = await getJSON(`${api}/metrics?since=${next}`);
    if (data.error && !run.warning) showWarning("warning", "metrics.csv is damaged: " + data.error);
    if (data.rows.length || next === 0) {
      charts.add(0, data.columns, data.rows); next = data.next; charts.draw();
    }
  }
  await poll();
  if (run.status === "running") {  // live: only the new rows are fetched
    document.getElementById("live").textContent = "live";
    setInterval(() => poll().catch(() => {}), 1000);
  }
  for (const id of ["x-axis", "log-scale", "smoothing"]) {
    document.getElementById(id).addEventListener("input", () => charts.draw());
  }
  const media = await getJSON(`${api}/media`);
  const box = document.getElementById("media");
  for (const item of media) {
    const figure = el("figure"); const img = el("img");
    img.src = `/files/${name}/${version}/media/${encodeURIComponent(item.file)}`; img.alt = item.key;
    figure.appendChild(img); figure.appendChild(el("figcaption", `${item.key} @ ${fmt(item.step)}`));
    box.appendChild(figure);
  }
  const histograms = await getJSON(`${api}/histograms`);
  const holder = document.getElementById("histograms");
  for (const [tag, steps] of Object.entries(histograms)) {
    const div = el("div", null, "chart"); div.dataset.histogram = tag; holder.appendChild(div);
    const traces = steps.map((h, i) => {
      const lefts = [h.min, ...h.limits.slice(0, -1)];
      return { name: `step ${h.step}`, mode: "lines", line: { shape: "hvh",
        color: `rgba(31, 119, 180, ${0.25 + 0.75 * (i + 1) / steps.length})` },
        x: h.limits.map((right, j) => (lefts[j] + Math.min(right, h.max)) / 2), y: h.counts };
    });
    Plotly.newPlot(div, traces, { title: { text: tag, font: { size: 13 } },
      margin: { l: 50, r: 10, t: 30, b: 35 }, showlegend: false }, { displaylogo: false });
  }
  document.getElementById("histogram-section").hidden = Object.keys(histograms).length === 0;
}

// --------------------------------------------------------------------------- compare page
async function comparePage() {
  const ids = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
  const runs = [];
  for (const id of ids) {
    const [name, version] = [id.slice(0, id.lastIndexOf("/")), id.slice(id.lastIndexOf("/") + 1)];
    try {
      runs.push(await getJSON(`/api/runs/${encodeURIComponent(name)}/${version}`));
    } catch (error) {
      showWarning("warning", `No run ${id}`);
    }
  }
  const labels = runs.map((r) => `${r.name}/${r.version}`);
  const charts = new RunCharts(document.getElementById("charts"), labels);
  for (const [i, run] of runs.entries()) {
    const data = await getJSON(`/api/runs/${encodeURIComponent(run.name)}/${run.version}/metrics`);
    charts.add(i, data.columns, data.rows);
  }
  charts.draw();
  const table = document.getElementById("differs");
  const header = el("tr"); header.appendChild(el("th", ""));
  for (const label of labels) {
    const th = el("th", label); th.style.color = colorOf(label); header.appendChild(th);
  }
  table.appendChild(header);
  const keys = new Set();
  for (const run of runs) {
    for (const k of Object.keys(run.tags)) keys.add(k);
    for (const k of Object.keys(run.metrics)) keys.add(k);
  }
  for (const key of keys) {
    const values = runs.map((r) => fmt(key in r.metrics ? r.metrics[key] : r.tags[key]));
    if (new Set(values).size < 2) continue;
    const tr = el("tr"); tr.appendChild(el("th", key));
    for (const value of values) tr.appendChild(el("td", value));
    table.appendChild(tr);
  }
}

// ----------------------------------------------------------------------------- searches
async function listStudies() {
  const studies = await getJSON("/api/studies");
  const list = document.getElementById("studies");
  for (const study of studies) {
    const item = el("li"); const link = el("a", study.study);
    link.href = `/study/${encodeURIComponent(study.folder)}/${encodeURIComponent(study.study)}`;
    item.appendChild(link);
    const counts = study.counts ? Object.entries(study.counts).map(([k, v]) => `${v} ${k}`).join(", ") : "";
    item.append(` (${study.folder}): ${counts}` + (study.best ? `; best ${fmt(study.best.value)}` : ""));
    list.appendChild(item);
  }
  document.getElementById("searches").hidden = studies.length === 0;
}

async function studyPage() {
  const [, , folder, name] = location.pathname.split("/");
  let study;
  try {
    study = await getJSON(`/api/studies/${folder}/${name}`);
  } catch (error) {
    showWarning("warning", "No such search: " + error.message);
    return;
  }
  document.getElementById("title").textContent = `search ${study.study} (${study.metric}, ${study.direction})`;
  if (study.error) showWarning("warning", study.error);
  const trials = study.trials || [];
  const best = study.best ? study.best.number : null;
  document.getElementById("best").textContent = study.best
    ? `best: trial ${best}, ${study.metric} = ${fmt(study.best.value)}` : "no finished trial yet";
  const params = [...new Set(trials.flatMap((t) => Object.keys(t.params || {})))];
  const done = trials.filter((t) => typeof t.value === "number");
  const dimension = (label, values) => {
    if (values.every((v) => typeof v === "number")) return { label, values };
    const names = [...new Set(values.map(String))];
    return { label, values: values.map((v) => names.indexOf(String(v))),
             tickvals: names.map((_, i) => i), ticktext: names };
  };
  const dimensions = params.map((p) => dimension(p.split(".").pop(), done.map((t) => t.params[p])));
  dimensions.push({ label: study.metric, values: done.map((t) => t.value) });
  const chart = document.getElementById("parallel");
  Plotly.newPlot(chart, [{ type: "parcoords", dimensions,
    line: { color: done.map((t) => (t.number === best ? 1 : 0)), colorscale: [[0, "#9ecae1"], [1, "#d62728"]] } }],
    { margin: { l: 60, r: 60, t: 40, b: 20 } }, { displaylogo: false });
  const table = document.getElementById("trials");
  const head = el("tr");
  for (const label of ["trial", "state", study.metric, ...params.map((p) => p.split(".").pop()), "run"]) head.appendChild(el("th", label));
  table.appendChild(head);
  for (const trial of trials) {
    const tr = el("tr", null, trial.number === best ? "best" : "");
    tr.dataset.trial = trial.number;
    for (const value of [trial.number, trial.state, fmt(trial.value), ...params.map((p) => fmt(trial.params[p]))]) tr.appendChild(el("td", value));
    tr.appendChild(el("td", trial.run || "-"));
    table.appendChild(tr);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "runs") runsPage();
  else if (page === "run") runPage();
  else if (page === "compare") comparePage();
  else if (page === "study") studyPage();
});
