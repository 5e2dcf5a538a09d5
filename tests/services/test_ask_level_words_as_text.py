"""Level words on logs whose lines carry no such level are matched as text, and like any two words of a
question they also match the one word programs make of them: "link errors" is HPC's "Linkerror". Counts are
checked against the raw HPC sample, read here with a regular expression."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from logchat.services.ask import AskRequest, ask
from logchat.services.ingest import index_inputs


def test_a_level_word_read_as_text_joins_the_word_before_it(store: Any, settings: Any, loghub: Path) -> None:
    assert not index_inputs(store, settings, [str(loghub / "HPC" / "HPC_2k.log")]).failed
    lines = (loghub / "HPC" / "HPC_2k.log").read_text(encoding="utf-8").splitlines()
    joined = [line for line in lines if re.search(r"\bLinkerror\b", line)]
    apart = [line for line in lines if re.search(r"(?i)\blink errors?\b", line)]
    assert joined and apart
    result = ask(store, settings, AskRequest("how many link errors?", use_llm=False)).to_json()
    assert result["filters"]["level_fallback"]
    assert result["matched"] == len(joined) + len(apart)
