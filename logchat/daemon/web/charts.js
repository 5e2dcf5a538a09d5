// Chart pieces shared by the stats, anomalies and usage views: plain DOM and SVG, no chart library.
// Sizes are set through the CSSOM (element.style), which the Content-Security-Policy allows; inline
// style attributes it does not.

import { el, formatCount } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// A figure in a small card: "Events 3,700".
export function statCard(label, value, detail = null) {
  return el("div", { class: "card stat" }, el("span", { class: "stat-label" }, label),
    el("span", { class: "stat-value" }, value),
    detail ? el("span", { class: "stat-detail" }, detail) : null);
}

// A block whose width is a share of its track: `fraction` from 0 to 1.
export function filled(className, fraction) {
  const node = el("span", { class: className });
  node.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return node;
}

// Horizontal bars, longest for the largest value; `kind` names the colours (levels have their own).
// `format` writes the number at the end of the row.
export function bars(entries, kind, format = formatCount) {
  const most = Math.max(1, ...entries.map(([, n]) => n));
  return el("ul", { class: "bars" }, entries.map(([name, count]) => {
    const key = String(name).toLowerCase();
    const bar = filled(kind === "level" ? `bar level-bar-${key}` : `bar bar-${kind}`, count / most);
    const label = kind === "level" ? el("span", { class: `level level-${key}` }, name) : el("span", { class: "bar-name", title: name }, name);
    return el("li", { class: "bar-row" }, label, el("span", { class: "bar-track" }, bar),
      el("span", { class: "num" }, format(count)));
  }));
}

// A table of rows; `columns` are [heading, cell(row), { num, wide }] triples.
export function table(columns, rows, className = "patterns") {
  return el("table", { class: className },
    el("thead", {}, el("tr", {}, columns.map(([heading, , options = {}]) =>
      el("th", { scope: "col", class: options.num ? "num" : false }, heading)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map(([, cell, options = {}]) =>
      el("td", { class: options.num ? "num" : options.wide ? "template" : false }, cell(row)))))));
}

export function levelBadge(level) {
  return level ? el("span", { class: `level level-${String(level).toLowerCase()}` }, level) : "—";
}

// "3600" -> "1 h", "70107" -> "19.5 h", "604800" -> "7 d": how long a window is.
export function formatSpan(seconds) {
  const round = (n) => (Number.isInteger(n) ? String(n) : n.toFixed(1).replace(/\.0$/, ""));
  if (seconds >= 2 * 86400) return `${round(seconds / 86400)} d`;
  if (seconds >= 3600) return `${round(seconds / 3600)} h`;
  if (seconds >= 60) return `${round(seconds / 60)} min`;
  return `${round(seconds)} s`;
}
