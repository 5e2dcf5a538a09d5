// The anomalies view: what `logchat stat --anomalies` shows: the patterns whose rate in a window
// departs from the baseline before it (spikes, drops, new patterns), with an example line each, and the
// levels that jumped (docs/anomalies.md).

import { api } from "./api.js";
import { filled, formatSpan, levelBadge, statCard, table } from "./charts.js";
import { byId, el, formatCount, formatTime } from "./dom.js";

const output = byId("anomalies-output");
const form = byId("anomalies-form");
const KINDS = { spike: "spike", drop: "drop", new: "new" };

// "+7.15", "-2.28": the sure change in powers of two (3 is at least 8 times the baseline's rate).
export const formatScore = (score) => `${score >= 0 ? "+" : ""}${Number(score).toFixed(2)}`;
const formatExpected = (n) => Number(n).toLocaleString(undefined, { maximumFractionDigits: n < 1 ? 3 : 1 });

function kindBadge(kind) {
  return el("span", { class: `kind kind-${KINDS[kind] ?? "other"}` }, kind);
}

// The score, with a small bar of its size against the largest in the table.
function scoreCell(score, largest) {
  return el("span", { class: "score" },
    el("span", { class: "score-track", "aria-hidden": "true" },
      filled(score >= 0 ? "score-bar up" : "score-bar down", Math.abs(score) / largest)),
    el("span", { class: "score-value" }, formatScore(score)));
}

// "1 h · 48 events" and when it runs; an empty store has no window at all.
function span(part) {
  const events = `${formatCount(part.events)} ${part.events === 1 ? "event" : "events"}`;
  return part.seconds ? `${formatSpan(part.seconds)} · ${events}` : events;
}

const range = (part) => (part.since ? `${formatTime(part.since)} → ${formatTime(part.until)}` : "no events with a time");

function summary(report) {
  const { window, baseline, counts } = report;
  const shortened = baseline.seconds !== null && baseline.seconds < baseline.requested_seconds
    ? ` (${formatSpan(baseline.requested_seconds)} asked; the logs start later)` : "";
  const plural = (n, one, many) => `${formatCount(n)} ${n === 1 ? one : many}`;
  return el("div", { class: "stat-cards" },
    statCard("Window", span(window), range(window)),
    statCard("Baseline", span(baseline), `${range(baseline)}${shortened}`),
    statCard("Changed patterns",
      `${plural(counts.spike, "spike", "spikes")} · ${plural(counts.drop, "drop", "drops")} · ${formatCount(counts.new)} new`,
      `|score| ≥ ${report.min_score}; new patterns at any score`));
}

function example(pattern) {
  if (!pattern.example) return null;
  const label = pattern.kind === "drop" ? "last before the window" : "first in the window";
  return el("div", { class: "example" },
    el("span", { class: "when", title: label }, formatTime(pattern.example.time)),
    el("code", { class: "example-line" }, pattern.example.message));
}

function patterns(report) {
  const listed = report.templates;
  const found = report.counts.spike + report.counts.drop + report.counts.new;
  const largest = Math.max(1, ...listed.map((t) => Math.abs(t.score)));
  const section = el("section", { class: "card wide", "aria-labelledby": "changed-title" },
    el("div", { class: "card-head" }, el("h2", { id: "changed-title" }, "Patterns that changed"),
      el("span", { class: "muted" }, found > listed.length
        ? `largest change first; the first ${formatCount(listed.length)} of ${formatCount(found)}`
        : "largest change first")));
  if (!listed.length) {
    section.append(el("p", { class: "muted" }, report.notice
      ? "Nothing to compare."
      : `No pattern changed by a score of at least ${report.min_score}, and none is new.`));
    return section;
  }
  section.append(table([
    ["Kind", (t) => kindBadge(t.kind)],
    ["Score", (t) => scoreCell(t.score, largest), { num: true }],
    ["Window", (t) => formatCount(t.window_count), { num: true }],
    ["Baseline", (t) => formatCount(t.baseline_count), { num: true }],
    ["Expected", (t) => formatExpected(t.expected), { num: true }],
    ["Level", (t) => levelBadge(t.level)],
    ["Pattern and example line", (t) => [el("code", {}, t.template), example(t)], { wide: true }],
  ], listed, "patterns anomaly-patterns"));
  return section;
}

function levels(report) {
  const section = el("section", { class: "card wide", "aria-labelledby": "jumped-title" },
    el("h2", { id: "jumped-title" }, "Levels that jumped"));
  if (!report.levels.length) {
    section.append(el("p", { class: "muted" }, "No level changed its rate."));
    return section;
  }
  const largest = Math.max(1, ...report.levels.map((l) => Math.abs(l.score)));
  section.append(table([
    ["Level", (l) => levelBadge(l.level)],
    ["Kind", (l) => kindBadge(l.kind)],
    ["Score", (l) => scoreCell(l.score, largest), { num: true }],
    ["Window", (l) => formatCount(l.window_count), { num: true }],
    ["Baseline", (l) => formatCount(l.baseline_count), { num: true }],
    ["Expected", (l) => formatExpected(l.expected), { num: true }],
  ], report.levels, "patterns anomaly-levels"));
  return section;
}

export async function loadAnomalies() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) if (String(value).trim()) params.append(key, String(value).trim());
  output.setAttribute("aria-busy", "true");
  try {
    const report = await api("GET", `/api/v1/logs/anomalies?${params}`);
    const notice = report.notice ? [el("p", { class: "card notice", role: "status" }, report.notice)] : [];
    output.replaceChildren(summary(report), ...notice, patterns(report), levels(report));
  } catch (error) {
    output.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  } finally {
    output.setAttribute("aria-busy", "false");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadAnomalies();
});
