"""Use case: answer a question from the logs (`logchat ask`, the daemon's ask endpoint and chat socket).

question -> plan -> the matching events counted exactly and ranked -> what code computes over them and the
evidence lines -> an answer streamed from the chat model or, with no model, an extractive answer built from the
same numbers and lines. Every number in either answer is computed by code, never by a model. The stages live in
:mod:`logchat.services.answer`; :func:`ask` returns the :class:`Answer` that runs them when first read.

What the numbers mean (also in docs/ask.md):

- ``matched``: events that satisfy the filters (time range, levels, hosts, sources, processes) AND the
  text query as resolved by :mod:`logchat.retrieval.fulltext` (every remaining term, identifiers
  verbatim). With no text query left, every event that satisfies the filters.
- A "how many" question is answered with ``matched``; the per-pattern counts that add up to it
  follow. A top/first/last/max/min/sum/series question is answered by the plan's operation over the same
  matching events.

Answering writes nothing: the session layer keeps a turn once the answer is complete
(:func:`logchat.services.sessions.record_turn`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from logchat.config import Settings
from logchat.services.answer.answer import Answer, AnswerAbandoned, Chunk
from logchat.storage.db import Store

__all__ = ["Answer", "AnswerAbandoned", "AskRequest", "Chunk", "ask"]


@dataclass(frozen=True)
class AskRequest:
    question: str
    now: datetime | None = None  # what "last night" is relative to; default: the current time
    since: datetime | str | None = None
    until: datetime | str | None = None
    levels: Sequence[str] = ()
    hosts: Sequence[str] = ()
    sources: Sequence[str] = ()
    processes: Sequence[str] = ()
    session: str | None = None
    use_llm: bool = True
    # The account whose session ``session`` names; None for the command line's sessions.
    owner: int | None = None
    # A model still writing this many seconds after the answer began is stopped, and the answer is the
    # extractive one (the daemon sets it; None: no limit beyond the model's own timeouts).
    answer_seconds: float | None = None


def ask(store: Store, settings: Settings, request: AskRequest) -> Answer:
    """The answer to one question, produced when first read (iterated or serialised); see the module
    docstring and docs/ask.md."""
    from logchat.services.answer.pipeline import produce

    return Answer(partial(produce, store, settings, request))

