// The list of one's chat sessions; the open one receives the questions, so follow-ups keep its scope.

import { api } from "./api.js";
import { byId, el, formatTime } from "./dom.js";

const OPEN_KEY = "logchat.session";
const list = byId("session-list");
let known = [];
let onOpen = () => {};

export const openSession = () => sessionStorage.getItem(OPEN_KEY);

export function whenOpened(callback) {
  onOpen = callback;
}

export function setOpen(name) {
  if (name) sessionStorage.setItem(OPEN_KEY, name);
  else sessionStorage.removeItem(OPEN_KEY);
  for (const button of list.querySelectorAll("button.session")) {
    button.setAttribute("aria-current", button.dataset.name === name ? "true" : "false");
  }
}

// A name for a new session, from its first question; never one already used (that would join an old
// conversation and its scope).
export function nameFor(question) {
  const words = question.replace(/\s+/g, " ").trim();
  const base = words.length > 60 ? `${words.slice(0, 59).trimEnd()}…` : words;
  const taken = new Set(known.map((s) => s.name));
  let name = base;
  for (let n = 2; taken.has(name); n += 1) name = `${base} (${n})`;
  return name;
}

export async function loadSessions() {
  const { sessions } = await api("GET", "/api/v1/chat/sessions");
  known = sessions;
  const current = openSession();
  list.replaceChildren(...sessions.map((session) => el("li", {},
    el("button", {
      type: "button", class: "session", "data-name": session.name,
      "aria-current": session.name === current ? "true" : "false",
      onclick: () => onOpen(session.name),
    }, el("span", { class: "session-name" }, session.name),
    el("span", { class: "session-meta" }, `${session.turns} ${session.turns === 1 ? "turn" : "turns"} · ${formatTime(session.updated_at)}`)))));
  if (!sessions.length) list.append(el("li", { class: "muted empty" }, "No sessions yet: ask a question."));
  return sessions;
}

// The turns of a session, oldest first (the API pages them newest first).
export async function turnsOf(name) {
  const page = await api("GET", `/api/v1/chat/sessions/${encodeURIComponent(name)}/messages?limit=50`);
  return page.messages.slice().reverse();
}
