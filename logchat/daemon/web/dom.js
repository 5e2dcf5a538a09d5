// Small DOM helpers. Text always goes in as text nodes, never as HTML: log lines and answers are
// untrusted data.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export const byId = (id) => document.getElementById(id);

const TIME = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

// Times come from the API in ISO-8601 UTC; people read them in their own time zone.
export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : TIME.format(date);
}

export const formatCount = (n) => Number(n).toLocaleString();

// "/var/log/auth.log:42" -> "auth.log:42": the full citation stays in the title.
export function shortCitation(location, line) {
  const name = String(location).split("/").pop() || location;
  return `${name}:${line}`;
}
