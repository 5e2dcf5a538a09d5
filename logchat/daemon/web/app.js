// The web page of `logchat serve`: sign in, ask (answers stream over the chat WebSocket), sessions,
// stats, anomalies, usage analytics (for roles that may read them), sign out. Plain ES modules, no
// build step; every text from the server is inserted as text.

import { loadAnomalies } from "./anomalies.js";
import { accessToken, api, currentAccount, hasStoredSignIn, refresh, signIn, signOut, whenSignedOut } from "./api.js";
import { storedTurnView, turnView } from "./answer.js";
import { ChatSocket } from "./chatsocket.js";
import { closeContext, openContext } from "./context.js";
import { byId, el } from "./dom.js";
import { loadSessions, nameFor, openSession, setOpen, turnsOf, whenOpened } from "./sessions.js";
import { loadStats } from "./stats.js";
import { canReadUsage, loadUsage } from "./usage.js";

const views = {
  signin: byId("signin-view"), chat: byId("chat-view"), stats: byId("stats-view"), anomalies: byId("anomalies-view"),
  usage: byId("usage-view"),
};
const loaders = { stats: loadStats, anomalies: loadAnomalies, usage: loadUsage };
const usageTab = document.querySelector("#nav button[data-view=usage]");
const turns = byId("turns");
const question = byId("question");
const connection = byId("connection");
const banner = byId("banner");
const pending = new Map();
let asked = 0;

const socket = new ChatSocket({
  getToken: accessToken,
  renewToken: async () => {
    await refresh();
    return accessToken();
  },
  onFrame: received,
  onStatus: showConnection,
});

function show(name) {
  for (const [key, view] of Object.entries(views)) view.hidden = key !== name;
  const signedIn = name !== "signin";
  byId("nav").hidden = !signedIn;
  byId("account").hidden = !signedIn;
  for (const button of document.querySelectorAll("#nav button")) {
    button.setAttribute("aria-pressed", button.dataset.view === name ? "true" : "false");
  }
}

function showBanner(message) {
  byId("banner-text").textContent = message;
  banner.hidden = !message;
}

byId("banner-close").addEventListener("click", () => showBanner(""));

// Follow a growing answer only when the reader is at the end already, not while they read above.
const atEnd = () => turns.scrollHeight - turns.scrollTop - turns.clientHeight < 120;

function showConnection(state, detail = {}) {
  connection.dataset.state = state;
  if (state === "online") {
    connection.replaceChildren("Connected");
    return;
  }
  if (state === "connecting") {
    connection.replaceChildren("Connecting…");
    return;
  }
  const seconds = Math.max(1, Math.round(detail.retryInMs / 1000));
  connection.replaceChildren(`Connection lost (${detail.reason}); retrying in ${seconds} s. `,
    el("button", { type: "button", class: "link", onclick: () => socket.reconnectNow() }, "Reconnect now"));
}

// --- signing in and out --------------------------------------------------------------------------

async function enter() {
  byId("whoami").textContent = `${currentAccount().username} (${currentAccount().role})`;
  // The tabs follow the role's permissions as the server states them, not a list kept here.
  try {
    usageTab.hidden = !canReadUsage((await api("GET", "/api/v1/auth/me")).permissions);
  } catch (error) {
    usageTab.hidden = true;
    if (error.status !== 401) showBanner(error.message);
  }
  show("chat");
  socket.start();
  await openAt(openSession());
  question.focus();
}

// The account as the server states it now (a role changed since the sign-in).
document.addEventListener("logchat:account", (event) => {
  byId("whoami").textContent = `${event.detail.username} (${event.detail.role})`;
});

function leave(message = "") {
  socket.stop();
  usageTab.hidden = true;
  for (const output of [byId("stats-output"), byId("anomalies-output"), byId("usage-output")]) output.replaceChildren();
  closeContext();
  showBanner("");
  pending.clear();
  turns.replaceChildren();
  byId("signin-error").textContent = message;
  show("signin");
  byId("username").focus();
}

byId("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button[type=submit]");
  byId("signin-error").textContent = "";
  button.disabled = true;
  try {
    await signIn(form.username.value.trim(), form.password.value);
    form.reset();
    await enter();
  } catch (error) {
    byId("signin-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
});

byId("sign-out").addEventListener("click", async () => {
  socket.stop();
  await signOut();
  leave();
});

whenSignedOut((error) => leave(`Signed out: ${error.message}`));

// --- sessions ------------------------------------------------------------------------------------

function emptyConversation() {
  turns.replaceChildren(el("div", { class: "empty-state" },
    el("h2", {}, "Ask about your logs"),
    el("p", {}, "For example: “why did sshd reject logins last night?” or “which hosts logged errors today?”. "
      + "Answers cite the log lines they rest on; open a citation to see the lines around it.")));
}

async function openAt(name) {
  setOpen(name);
  byId("session-title").textContent = name || "New session";
  try {
    await loadSessions();
    if (!name) {
      emptyConversation();
      return;
    }
    turns.replaceChildren(el("p", { class: "muted" }, "Loading the session…"));
    const messages = await turnsOf(name);
    turns.replaceChildren(...messages.map((message) => storedTurnView(message, openContext)));
    if (!messages.length) emptyConversation();
    turns.lastElementChild?.scrollIntoView({ block: "end" });
  } catch (error) {
    if (error.status === 404) {
      setOpen(null);
      byId("session-title").textContent = "New session";
      emptyConversation();
    }
    showBanner(error.message);
  }
}

whenOpened((name) => {
  showBanner("");
  openAt(name);
});

byId("new-session").addEventListener("click", () => {
  openAt(null);
  question.focus();
});

// --- asking --------------------------------------------------------------------------------------

question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    byId("ask-form").requestSubmit();
  }
});

byId("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = question.value.trim();
  if (!text) return;
  let session = openSession();
  if (!session && !text.startsWith("/")) {
    session = nameFor(text);
    setOpen(session);
    byId("session-title").textContent = session;
  }
  if (turns.querySelector(".empty-state")) turns.replaceChildren();
  const id = `q${++asked}`;
  const view = turnView(text, openContext);
  pending.set(id, view);
  turns.append(view.element);
  view.element.scrollIntoView({ block: "end" });
  question.value = "";
  try {
    await socket.ask({ type: "ask", id, question: text, ...(session ? { session } : {}) });
  } catch (error) {
    pending.delete(id);
    view.showError(error.message);
  }
});

function received(frame) {
  const view = pending.get(frame.id);
  if (!view) {
    if (frame.type === "error") showBanner(frame.message);
    return;
  }
  const following = atEnd();
  if (frame.type === "token") view.appendToken(frame.text);
  else if (frame.type === "notice") view.showNotice(frame.text);
  else if (frame.type === "progress") view.showProgress(frame);
  else if (frame.type === "command") view.showCommand(frame);
  else if (frame.type === "answer") view.showAnswer(frame);
  else if (frame.type === "error") view.showError(frame.message);
  if (["answer", "command", "error"].includes(frame.type)) {
    pending.delete(frame.id);
    if (frame.type === "answer") loadSessions().catch((error) => showBanner(error.message));
    // `/session NAME` and `/clear` switch sessions: the page follows, so that questions go there.
    if (frame.type === "command" && ["/session", "/clear"].includes(frame.command) && frame.session) {
      openAt(frame.session);
      return;
    }
  }
  // The final answer may be long: show it from its question on; a streaming one from its end.
  if (following) view.element.scrollIntoView({ block: frame.type === "token" ? "end" : "start" });
}

// --- views ---------------------------------------------------------------------------------------

for (const button of document.querySelectorAll("#nav button")) {
  button.addEventListener("click", () => {
    const view = button.dataset.view;
    show(view);
    if (loaders[view]) loaders[view]();
    else question.focus();
  });
}

// A reload of the page: the refresh token of this tab signs it in again.
async function start() {
  if (!hasStoredSignIn()) {
    leave();
    return;
  }
  try {
    await refresh();
    await enter();
  } catch (error) {
    if (error.status !== 401) leave(error.message); // a refused refresh token has signed out already
  }
}

start();
