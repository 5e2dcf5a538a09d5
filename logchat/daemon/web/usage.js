// The usage view: what `logchat stat --usage` shows (docs/usage.md): questions per day, how many the
// model answered, answer times, who asks, which questions find nothing and which come back. Only for
// roles with `analytics:read`; the page does not show the tab to others.

import { api } from "./api.js";
import { bars, filled, statCard, table } from "./charts.js";
import { byId, el, formatCount, formatTime } from "./dom.js";

const output = byId("usage-output");
const form = byId("usage-form");
const PERMISSION = "analytics:read";
// Day columns are labelled under the bar up to this many days, counted above it up to the second.
const LABEL_DAYS = 14;
const COUNT_DAYS = 31;
const BAR_PX = 120;
const DAY_MS = 86_400_000;
const DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });

const FRONT_ENDS = { cli: "command line", http: "HTTP API", ws: "chat socket" };
const plural = (n, one, many) => `${formatCount(n)} ${n === 1 ? one : many}`;
const percent = (share) => (share === null ? "—" : `${Math.round(share * 100)} %`);

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

function summary(usage) {
  const t = usage.totals;
  const median = usage.latency_ms.total?.all?.p50 ?? null;
  const ends = Object.entries(t.by_front_end).map(([end, n]) => `${FRONT_ENDS[end] ?? end}: ${formatCount(n)}`);
  const failures = t.llm_errors ? ` · ${plural(t.llm_errors, "model failure", "model failures")}` : "";
  return el("div", { class: "stat-cards" },
    statCard("Questions", formatCount(t.questions), t.last ? `the last ${formatTime(t.last)}` : "none yet"),
    statCard("Users", formatCount(t.users), ends.join(" · ") || null),
    statCard("Written by the model", percent(t.llm_share), `${formatCount(t.llm)} of ${plural(t.questions, "answer", "answers")}${failures}`),
    statCard("Unanswered", percent(t.unanswered_share), `${formatCount(t.unanswered)} of ${formatCount(t.questions)} matched no event`),
    statCard("Median answer time", formatMs(median), "p50 of every answer"));
}

// Every UTC day from the first to the last with questions: the days without any keep their place,
// so that the bars read as a time line.
function calendar(perDay) {
  if (!perDay.length) return [];
  const known = new Map(perDay.map((d) => [d.day, d]));
  const first = Date.parse(`${perDay[0].day}T00:00:00Z`);
  const last = Date.parse(`${perDay[perDay.length - 1].day}T00:00:00Z`);
  if ((last - first) / DAY_MS > 400) return perDay; // years of records: the days with questions only
  const days = [];
  for (let t = first; t <= last; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.push(known.get(day) ?? { day, questions: 0 });
  }
  return days;
}

function perDay(usage) {
  const days = calendar(usage.per_day);
  const section = el("section", { class: "card", "aria-labelledby": "per-day-title" },
    el("div", { class: "card-head" }, el("h2", { id: "per-day-title" }, "Questions per day"),
      el("span", { class: "legend" }, el("span", { class: "swatch model" }), "model",
        el("span", { class: "swatch extractive" }), "extractive")));
  if (!days.length) {
    section.append(el("p", { class: "muted" }, "No questions in this period."));
    return section;
  }
  const most = Math.max(1, ...days.map((d) => d.questions));
  const chart = el("ol", { class: days.length > LABEL_DAYS ? "day-chart dense" : "day-chart",
                           "aria-label": `Questions per UTC day, at most ${most} in one day` },
    days.map((d) => {
      const text = d.questions
        ? `${d.day}: ${plural(d.questions, "question", "questions")} (${formatCount(d.llm)} by the model, `
          + `${formatCount(d.extractive)} extractive, ${formatCount(d.unanswered)} unanswered; `
          + `${plural(d.users, "user", "users")})`
        : `${d.day}: no questions`;
      const stack = el("span", { class: "day-stack" });
      if (d.questions) {
        stack.classList.add("day-bar");
        stack.style.height = `${Math.max(3, (BAR_PX * d.questions) / most)}px`;
        // The model's share on top of the column; the rest of it (its background) is extractive.
        const model = el("span", { class: "seg model" });
        model.style.height = `${(100 * d.llm) / d.questions}%`;
        stack.append(model);
      }
      return el("li", { class: "day", title: text },
        el("span", { class: "visually-hidden" }, text),
        el("span", { class: "day-area", "aria-hidden": "true" },
          d.questions && days.length <= COUNT_DAYS ? el("span", { class: "day-count" }, formatCount(d.questions)) : null,
          stack),
        el("span", { class: "day-label", "aria-hidden": "true" }, days.length <= LABEL_DAYS ? DAY.format(new Date(`${d.day}T00:00:00Z`)) : ""));
    }));
  section.append(chart);
  if (days.length > LABEL_DAYS) {
    section.append(el("div", { class: "axis-labels" }, el("span", {}, days[0].day), el("span", {}, "UTC days"),
      el("span", {}, days[days.length - 1].day)));
  } else {
    section.append(el("p", { class: "muted axis-note" }, "UTC days"));
  }
  return section;
}

function share(usage) {
  const t = usage.totals;
  const section = el("section", { class: "card", "aria-labelledby": "share-title" },
    el("h2", { id: "share-title" }, "Model or extractive"));
  if (!t.questions) {
    section.append(el("p", { class: "muted" }, "No answers yet."));
    return section;
  }
  section.append(
    el("div", { class: "split", role: "img",
                "aria-label": `${formatCount(t.llm)} answers by the model, ${formatCount(t.extractive)} extractive` },
    filled("split-part model", t.llm / t.questions), filled("split-part extractive", t.extractive / t.questions)),
    el("ul", { class: "split-legend" },
      el("li", {}, el("span", { class: "swatch model" }), `Model ${formatCount(t.llm)} (${percent(t.llm / t.questions)})`),
      el("li", {}, el("span", { class: "swatch extractive" }), `Extractive ${formatCount(t.extractive)} (${percent(t.extractive / t.questions)})`)),
  );
  if (t.llm_errors) {
    section.append(el("p", { class: "muted" }, `${plural(t.llm_errors, "answer", "answers")} fell back to extractive when the model failed.`));
  }
  return section;
}

// Rows of the answer time table: [label, measure, group, a part of the row above].
const PARTS = [
  ["Whole answer", "total", "all", false], ["by the model", "total", "llm", true],
  ["extractive", "total", "extractive", true], ["Parse", "parse", "all", false], ["Retrieve", "retrieve", "all", false],
  // The model's parts exist only for the answers it wrote.
  ["Model call", "llm", "llm", false], ["First token", "first_token", "llm", false],
];

function latency(usage) {
  const section = el("section", { class: "card", "aria-labelledby": "latency-title" },
    el("h2", { id: "latency-title" }, "Answer time"));
  const whole = usage.latency_ms.total?.all;
  if (!whole || !whole.count) {
    section.append(el("p", { class: "muted" }, "No answers yet."));
    return section;
  }
  const rows = PARTS.map(([label, measure, group, sub]) => [label, usage.latency_ms[measure]?.[group], sub])
    .filter(([, stats]) => stats && stats.count);
  section.append(bars([["p50", whole.p50], ["p95", whole.p95], ["p99", whole.p99]], "latency", formatMs),
    table([
      ["Part", ([label, , sub]) => el("span", { class: sub ? "sub" : false }, label)],
      ["Answers", ([, s]) => formatCount(s.count), { num: true }],
      ["p50", ([, s]) => formatMs(s.p50), { num: true }],
      ["p95", ([, s]) => formatMs(s.p95), { num: true }],
      ["p99", ([, s]) => formatMs(s.p99), { num: true }],
    ], rows, "patterns latency"));
  return section;
}

function users(usage) {
  const section = el("section", { class: "card", "aria-labelledby": "users-title" },
    el("h2", { id: "users-title" }, "Users"));
  if (!usage.per_user.length) {
    section.append(el("p", { class: "muted" }, "Nobody asked yet."));
    return section;
  }
  section.append(table([
    ["User", (u) => u.user, { wide: true }],
    ["Questions", (u) => formatCount(u.questions), { num: true }],
    ["Model", (u) => formatCount(u.llm), { num: true }],
    ["Extractive", (u) => formatCount(u.extractive), { num: true }],
    ["Unanswered", (u) => formatCount(u.unanswered), { num: true }],
    ["Last question", (u) => formatTime(u.last_at)],
  ], usage.per_user, "patterns per-user"));
  return section;
}

function shapes(title, id, rows, withUnanswered, empty) {
  const section = el("section", { class: "card", "aria-labelledby": id }, el("h2", { id }, title));
  if (!rows.length) {
    section.append(el("p", { class: "muted" }, empty));
    return section;
  }
  const columns = [
    ["Question shape", (s) => el("code", {}, s.shape), { wide: true }],
    ["Asked", (s) => formatCount(s.questions), { num: true }],
    ["Users", (s) => formatCount(s.users), { num: true }],
  ];
  if (withUnanswered) columns.push(["Unanswered", (s) => formatCount(s.unanswered), { num: true }]);
  columns.push(["Last asked", (s) => formatTime(s.last_at)]);
  section.append(table(columns, rows, `patterns ${id.replace("-title", "")}`));
  return section;
}

function sources(usage) {
  const groups = [["Sources answered from", usage.answered_from], ["Sources asked about", usage.top_sources],
    ["Hosts asked about", usage.top_hosts]].filter(([, rows]) => rows.length);
  const section = el("section", { class: "card", "aria-labelledby": "sources-title" },
    el("h2", { id: "sources-title" }, groups.length ? groups[0][0] : "Sources"));
  if (!groups.length) {
    section.append(el("p", { class: "muted" }, "No answer matched a source yet."));
    return section;
  }
  groups.forEach(([title, rows], i) => {
    if (i) section.append(el("h2", { class: "second" }, title));
    section.append(bars(rows.map((r) => [r.name, r.questions]), "source"));
  });
  return section;
}

// The role as the server sees it now (it may have changed since the sign-in); the page is told, so that
// the top bar shows it too.
async function currentRole() {
  try {
    const me = await api("GET", "/api/v1/auth/me");
    document.dispatchEvent(new CustomEvent("logchat:account", { detail: me }));
    return me.role;
  } catch {
    return null;
  }
}

function refused(error, role) {
  return el("div", { class: "card notice refused", role: "alert" },
    el("h2", {}, "Usage analytics are not available to you"),
    el("p", {}, `${role ? `Your role (${role})` : "Your role"} does not hold the ${PERMISSION} permission that `
      + "usage analytics need; analysts and admins hold it."),
    el("p", { class: "muted" }, `The server said: ${error.message}`));
}

export const canReadUsage = (permissions) => permissions.includes(PERMISSION);

export async function loadUsage() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) if (String(value).trim()) params.append(key, String(value).trim());
  output.setAttribute("aria-busy", "true");
  try {
    const usage = await api("GET", `/api/v1/analytics/usage?${params}`);
    output.replaceChildren(summary(usage),
      el("div", { class: "report-grid wide-left" }, perDay(usage), el("div", { class: "stack" }, share(usage), latency(usage))),
      el("div", { class: "report-grid wide-left" },
        shapes("Most asked", "shapes-title", usage.top_shapes, true, "No questions yet."),
        shapes("Unanswered questions", "unanswered-title", usage.unanswered, false, "Every question matched some events.")),
      el("div", { class: "report-grid wide-left" }, users(usage), sources(usage)));
  } catch (error) {
    if (error.status === 403) output.replaceChildren(refused(error, await currentRole()));
    else output.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  } finally {
    output.setAttribute("aria-busy", "false");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadUsage();
});
