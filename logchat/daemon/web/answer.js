// One turn of a conversation: the question, the answer as it streams in, then the final answer with
// its pattern table and the lines it cites. Citations are buttons that open the line's context.

import { el, formatCount, formatTime, shortCitation } from "./dom.js";

const CITATION = /\[(E\d+)\]/g;

// The answer text with each [E3] turned into a button when the line it names is known.
function answerText(text, lineOf, openContext) {
  const paragraph = el("div", { class: "answer-text" });
  let last = 0;
  for (const match of text.matchAll(CITATION)) {
    paragraph.append(text.slice(last, match.index));
    const line = lineOf(match[1]);
    paragraph.append(line ? citeButton(match[1], line, openContext, "cite-inline") : match[0]);
    last = match.index + match[0].length;
  }
  paragraph.append(text.slice(last));
  return paragraph;
}

function citeButton(label, line, openContext, className) {
  return el("button", {
    type: "button", class: className, title: `Show the lines around ${line.citation}`,
    "aria-label": `${label}: show the lines around ${line.citation}`,
    onclick: (event) => openContext(line, event.currentTarget),
  }, label);
}

function meta(data) {
  const parts = [data.mode === "llm" ? "model answer" : "extractive answer",
                 `${formatCount(data.matched)} matching events`];
  if (data.time_span && data.time_span.first) {
    parts.push(`${formatTime(data.time_span.first)} – ${formatTime(data.time_span.last)}`);
  }
  return el("p", { class: "answer-meta" }, parts.join(" · "));
}

// Numbers of a model's answer that nothing computed gave it, said plainly under the answer.
function unverifiedNote(numbers) {
  if (!numbers || !numbers.length) return null;
  return el("p", { class: "unverified", role: "note" },
    `Unverified numbers (no tool result or evidence line gives them): ${numbers.join(", ")}`);
}

function patternTable(patterns) {
  if (!patterns || !patterns.length) return null;
  const rows = patterns.map((p) => el("tr", {},
    el("td", { class: "template" }, el("code", {}, p.template)),
    el("td", { class: "num" }, formatCount(p.count)),
    el("td", {}, formatTime(p.first_seen)),
    el("td", {}, formatTime(p.last_seen))));
  return el("table", { class: "patterns" },
    el("caption", {}, "Patterns"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Template"), el("th", { scope: "col", class: "num" }, "Count"),
      el("th", { scope: "col" }, "First seen"), el("th", { scope: "col" }, "Last seen"))),
    el("tbody", {}, rows));
}

function evidenceList(evidence, citations, openContext) {
  const cited = evidence.filter((item) => citations.includes(item.id));
  const shown = cited.length ? cited : evidence.slice(0, 8);
  if (!shown.length) return null;
  const items = shown.map((item) => {
    const line = { event_id: item.event_id, citation: `${item.path}:${item.line}` };
    return el("li", {},
      el("button", {
        type: "button", class: "citation", title: `Show the lines around ${line.citation}`,
        onclick: (event) => openContext(line, event.currentTarget),
      }, el("span", { class: "cite-id" }, item.id), " ", shortCitation(item.path, item.line)),
      item.level ? el("span", { class: `level level-${item.level.toLowerCase()}` }, item.level) : null,
      el("span", { class: "when" }, formatTime(item.ts)),
      el("code", { class: "line-text" }, item.text));
  });
  return el("section", { class: "evidence" },
    el("h3", {}, cited.length ? "Cited lines" : "Evidence lines"), el("ol", {}, items));
}

export function turnView(question, openContext) {
  const answer = el("div", { class: "answer", "aria-live": "polite", "aria-busy": "true" },
    el("div", { class: "answer-text streaming" }));
  const notices = el("ul", { class: "notices" });
  const element = el("article", { class: "turn" },
    el("div", { class: "question" }, el("p", {}, question)), answer, notices);
  let streamed = "";

  return {
    element,
    appendToken(text) {
      streamed += text;
      answer.querySelector(".answer-text").textContent = streamed;
    },
    showNotice(text) {
      notices.append(el("li", {}, text));
    },
    showAnswer(data) {
      const byId = Object.fromEntries((data.evidence || []).map((item) => [item.id, item]));
      const lineOf = (id) => byId[id] && { event_id: byId[id].event_id, citation: `${byId[id].path}:${byId[id].line}` };
      answer.replaceChildren(answerText(data.answer || "", lineOf, openContext),
        unverifiedNote(data.unverified_numbers) || "", meta(data), patternTable(data.patterns) || "", evidenceList(data.evidence || [], data.citations || [], openContext) || "");
      answer.setAttribute("aria-busy", "false");
      element.classList.add("answered");
    },
    showCommand(frame) {
      answer.replaceChildren(el("pre", { class: "command-output" }, frame.text || JSON.stringify(frame, null, 2)));
      answer.setAttribute("aria-busy", "false");
    },
    showProgress(frame) {
      answer.replaceChildren(el("p", { class: "answer-meta" }, frame.text || "working…"));
    },
    showError(message) {
      if (streamed) answer.querySelector(".answer-text").classList.remove("streaming");
      answer.append(el("p", { class: "error", role: "alert" }, message));
      answer.setAttribute("aria-busy", "false");
    },
  };
}

// A turn read back from a session: the stored question and answer; citations open their lines by the
// event ids stored with the turn (E1 is the first of them).
export function storedTurnView(message, openContext) {
  const ids = message.evidence_event_ids || [];
  const lineOf = (id) => {
    const eventId = ids[Number(id.slice(1)) - 1];
    return eventId ? { event_id: eventId, citation: `event ${eventId}` } : null;
  };
  const answer = el("div", { class: "answer" }, answerText(message.answer || "", lineOf, openContext),
    el("p", { class: "answer-meta" }, [message.mode === "llm" ? "model answer" : "extractive answer",
      `${formatCount(message.matched)} matching events`, formatTime(message.created_at)].join(" · ")));
  return el("article", { class: "turn answered" }, el("div", { class: "question" }, el("p", {}, message.question)), answer);
}
