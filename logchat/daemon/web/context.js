// The context panel: the lines around a cited line, from its file, with the cited line highlighted.
// A native <dialog>: Escape closes it and focus goes back to the citation that opened it.

import { api } from "./api.js";
import { byId, el, formatTime, shortCitation } from "./dom.js";

const LINES = 5;
const dialog = byId("context-dialog");
const body = byId("context-body");
const title = byId("context-title");
let opener = null;

byId("context-close").addEventListener("click", () => dialog.close());
dialog.addEventListener("close", () => {
  if (opener && opener.isConnected) opener.focus();
  opener = null;
});
// A click on the backdrop (outside the panel) closes it too.
dialog.addEventListener("click", (event) => {
  if (event.target === dialog) dialog.close();
});

function row(line, cited) {
  return el("li", { class: cited ? "context-line cited" : "context-line", "aria-current": cited ? "true" : false },
    el("span", { class: "line-no" }, String(line.line)),
    el("code", { class: "line-text" }, line.raw));
}

export function closeContext() {
  if (dialog.open) dialog.close();
}

export async function openContext(line, button) {
  opener = button;
  title.textContent = line.citation;
  body.replaceChildren(el("p", { class: "muted" }, "Loading the lines around it…"));
  if (!dialog.open) dialog.showModal();
  try {
    const context = await api("GET", `/api/v1/logs/events/${encodeURIComponent(line.event_id)}/context?lines=${LINES}`);
    const event = context.event;
    title.textContent = shortCitation(event.location, event.line);
    title.title = event.citation;
    const facts = [formatTime(event.ts), event.level, event.host, event.process].filter(Boolean).join(" · ");
    const list = el("ol", { class: "context-lines" },
      context.before.map((l) => row(l, false)), row(event, true), context.after.map((l) => row(l, false)));
    body.replaceChildren(el("p", { class: "context-facts" }, el("span", { class: "path" }, event.location), facts),
      list);
    list.querySelector(".cited").scrollIntoView({ block: "center" });
  } catch (error) {
    body.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
  }
}
