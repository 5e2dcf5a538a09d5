"""Where a template's fixed text says a verb only as not done: an infinitive ("ask … to delete"), a negation
("could not connect") or what was going on ("exception while serving"). Templates as logchat mines them
from the loghub samples (HDFS, Proxifier, BGL), placeholders blanked."""

from __future__ import annotations

import pytest

from logchat.retrieval.log_vocabulary import stem
from logchat.retrieval.undone import asks_about_undone, said_as_done, said_only_as_not_done


def _stems(*forms: str) -> set[str]:
    return {stem(form) for form in forms}


DELETED = _stems("deleted", "deleting", "removed", "delete")
SENT = _stems("sent", "sending", "served", "send")
CONNECTED = _stems("connected", "connect", "connecting")


@pytest.mark.parametrize(("body", "stems"), [
    ("BLOCK* ask   to delete", DELETED),
    ("BLOCK* ask   to delete           ", DELETED),
    ("  :Got exception while serving   to  :", SENT),
    ("  error : Could not connect to proxy proxy.cse.cuhk.edu.hk:  - Could not resolve proxy.cse.cuhk.edu.hk",
     CONNECTED),
    ("ciod: Error creating node map from file  : couldn't connect", CONNECTED),
    ("Block   is scheduled to be deleted", DELETED),
])  # fmt: skip
def test_a_verb_said_only_as_not_done(body: str, stems: set[str]) -> None:
    assert said_only_as_not_done(body, stems)


@pytest.mark.parametrize(("body", "stems"), [
    ("Deleting block   file  ", DELETED),
    ("  Served block   to  ", SENT),
    ("BLOCK* NameSystem.delete:   is added to invalidSet of  ", DELETED),  # a method's name: not said as not done
    ("Failed to delete   ; deleted   instead", DELETED),  # also said as done
    ("PacketResponder   for block   terminating", DELETED),  # not said at all
    ("Changed state to running", _stems("ran", "running")),  # "to" before a form that is no infinitive
])  # fmt: skip
def test_a_verb_said_as_done_or_not_at_all(body: str, stems: set[str]) -> None:
    assert not said_only_as_not_done(body, stems)


def test_only_a_past_form_says_a_thing_was_done() -> None:
    assert said_as_done("deleted") and said_as_done("sent") and said_as_done("connected")
    assert not said_as_done("serving") and not said_as_done("delete") and not said_as_done("blocks")


def test_a_question_about_what_was_not_done_keeps_those_lines() -> None:
    assert asks_about_undone(["blocks", "not", "deleted"])
    assert asks_about_undone(["blocks", "failed", "deleted"])
    assert not asks_about_undone(["blocks", "deleted"])
