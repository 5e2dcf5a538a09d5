"""The stages of an answer (`logchat ask`, the daemon's ask endpoint and chat socket), each handing the next
a frozen value:

1. :mod:`.question` — the question read against the flags, the session's last turn and the store's names:
   a :class:`~.question.Question` (its scope, the event filter every query uses) and its
   :class:`~logchat.retrieval.plan.Plan`.
2. :mod:`.retrieval` — the events the plan selects, counted exactly, ranked, with the filter conditions
   built once: a :class:`~.retrieval.Retrieval`.
3. :mod:`.facts` — what code computes over every matching event (the plan's operation, patterns with their
   values) and the evidence lines: :class:`~.facts.Facts`, whose ``computed`` is the plan's
   :class:`~logchat.retrieval.plan.ComputedResult`.
4. :mod:`.extractive` or :mod:`.model` — the answer's words: built from the facts, or written by the chat model
   with the facts as given numbers.
5. :mod:`.answer` — one :class:`~.answer.Answer` object: iterated (``for`` or ``async for``) for its chunks as
   they come, then :meth:`~.answer.Answer.to_json` for the `ask --json` contract (:mod:`.contract`).

Reading only: nothing here writes to the store or the data dir. A chat turn is kept by the session layer
(:func:`logchat.services.sessions.record_turn`) once the answer is complete.
"""
