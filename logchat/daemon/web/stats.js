// The stats view: what `logchat stat` shows: totals, events per level, a time histogram (SVG, drawn
// here: no chart library) and the most frequent patterns.

import { api } from "./api.js";
import { bars, statCard, svg } from "./charts.js";
import { byId, el, formatCount, formatTime } from "./dom.js";

const output = byId("stats-output");
const form = byId("stats-form");
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

function summary(stats) {
  return el("div", { class: "stat-cards" },
    statCard("Events", formatCount(stats.total)),
    statCard("First event", formatTime(stats.time_span.first)),
    statCard("Last event", formatTime(stats.time_span.last)),
    statCard("Sources", formatCount(stats.by_source.length)));
}

function breakdown(stats) {
  const hosts = stats.by_host.map((h) => [h.host, h.count]);
  return el("section", { class: "card", "aria-labelledby": "levels-title" },
    el("h2", { id: "levels-title" }, "Levels"), bars(Object.entries(stats.by_level), "level"),
    hosts.length ? el("h2", { class: "second" }, "Hosts") : null, hosts.length ? bars(hosts, "host") : null);
}

function histogram(data) {
  const buckets = data.buckets;
  const section = el("section", { class: "card", "aria-labelledby": "histogram-title" },
    el("h2", { id: "histogram-title" }, "Events over time"));
  if (!buckets.length) {
    section.append(el("p", { class: "muted" }, "No timed events."));
    return section;
  }
  const width = 720;
  const height = 160;
  const most = Math.max(1, ...buckets.map((b) => b.count));
  const step = width / buckets.length;
  const bars = buckets.map((bucket, i) => {
    const h = Math.max(bucket.count ? 1 : 0, (height * bucket.count) / most);
    return svg("rect", { x: (i * step + step * 0.1).toFixed(2), y: (height - h).toFixed(2),
                         width: Math.max(0.5, step * 0.8).toFixed(2), height: h.toFixed(2), class: "hist-bar" },
    svg("title", {}, `${formatTime(bucket.start)}: ${formatCount(bucket.count)} events`));
  });
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "histogram", role: "img",
                             preserveAspectRatio: "none",
                             "aria-label": `Events per ${data.bucket_seconds} seconds, at most ${most} in one bucket` },
  svg("line", { x1: 0, y1: height, x2: width, y2: height, class: "axis" }), ...bars);
  const minutes = data.bucket_seconds / 60;
  const span = minutes >= 60 ? `${minutes / 60} h` : minutes >= 1 ? `${minutes} min` : `${data.bucket_seconds} s`;
  section.append(el("p", { class: "muted" }, `${buckets.length} buckets of ${span}; the highest holds ${formatCount(most)} events.`),
    chart,
    el("div", { class: "axis-labels" }, el("span", {}, formatTime(buckets[0].start)),
      el("span", {}, `times in ${ZONE}`), el("span", {}, formatTime(buckets[buckets.length - 1].start))));
  return section;
}

function topPatterns(templates) {
  const rows = templates.map((t) => el("tr", {},
    el("td", { class: "template" }, el("code", {}, t.template)),
    el("td", {}, t.level ? el("span", { class: `level level-${t.level.toLowerCase()}` }, t.level) : "—"),
    el("td", { class: "num" }, formatCount(t.count)),
    el("td", {}, formatTime(t.first_seen)),
    el("td", {}, formatTime(t.last_seen))));
  return el("section", { class: "card wide", "aria-labelledby": "patterns-title" },
    el("h2", { id: "patterns-title" }, "Top patterns"),
    el("table", { class: "patterns" },
      el("thead", {}, el("tr", {}, ["Template", "Level", "Count", "First seen", "Last seen"].map((h) =>
        el("th", { scope: "col", class: h === "Count" ? "num" : false }, h)))),
      el("tbody", {}, rows)));
}

export async function loadStats() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) if (String(value).trim()) params.append(key, String(value).trim());
  output.setAttribute("aria-busy", "true");
  try {
    const stats = await api("GET", `/api/v1/logs/stats?${params}`);
    output.replaceChildren(summary(stats),
      el("div", { class: "stat-grid" }, breakdown(stats), histogram(stats.histogram)), topPatterns(stats.top_templates));
  } catch (error) {
    output.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  } finally {
    output.setAttribute("aria-busy", "false");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadStats();
});
