"""How often `logchat ask` answers the question set correctly (tests/answers/questions.jsonl).

For each loghub system in the set: copy its raw log into a temp dir (for logs without a year, with the
modification time the question set names, which fixes the year logchat infers), index it with
`logchat index` into a data dir of its own, then ask every question of that system with the real CLI,
`logchat ask --no-llm --json --file QUESTIONS [--now NOW]` (one process per system and `now`, so the
start-up cost is paid once per group, not per question). Nothing is kept unless --keep is given.

Scoring (the expected values come from the loghub ground truth, see tests/answers/make_question_set.py):

- **first sentence** (the headline score): the answer text up to its first line break or its first
  `.`, `!` or `?` followed by white space or the end of the text (so the dots of `10.0.0.1`,
  `0.71` or `rdd_2.0` do not end it).
- **anywhere**: the same rule applied to the whole answer text (a looser score).
- **result**: whether the `result` object of the JSON carries the expected value (count, value, sum,
  ts, values); it shows when the number was computed but not said. Not available for every shape.
- **grep** (the obvious alternative, for the questions whose answer is a count of lines): the number
  of raw lines that contain every word of the question except question words ("how", "many", "were",
  …), ignoring case, as `grep -ci w1 | grep -ci w2 …` would give. Other shapes have no grep answer.

How an expected value is found in a text, per tolerance rule:

- numbers: the text is split into words at white space and at `( ) [ ] { } ; = " '`; leading and
  trailing `. , : ! ?` are stripped; a word is a number when it is digits with optional thousands
  separators and an optional decimal part (`1,234`, `1234`, `0.71`), optionally followed by a unit of up
  to five letters or `%` (`716ms`). `2015-12-10`, `10:54:29` and `10.0.0.1` are not numbers.
  `exact`: a number equal to the value. `numeric`: a number within `abs` of it.
- `timestamp`: the time as logchat prints it, `YYYY-MM-DD HH:MM:SS` (UTC), as a whole word.
- `ordered` (top-N): each value as a whole word (not inside a longer word, number or address), in the
  expected order, each after the previous one.
- `set`: each value as a whole word, in any order.
- `series`: each bucket's start (`YYYY-MM-DD HH:MM`) in order, each followed, before the next bucket's
  start, by its count as a number.

Run:

    .venv/bin/python benchmarks/eval_answers.py                      # every system, a table
    .venv/bin/python benchmarks/eval_answers.py --system OpenSSH --category top_n --show-failures
    .venv/bin/python benchmarks/eval_answers.py --json > scores.json
    .venv/bin/python benchmarks/eval_answers.py --no-fields --explain   # named fields off; each answer's plan kept

Named fields are read at ingest by default (`[ingest] fields = true`); `--no-fields` indexes without them,
to see what questions about values lose.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "tests" / "answers" / "questions.jsonl"
LOGHUB = REPO.parent / "shared" / "datasets" / "loghub"

# --- finding a value in a text ------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_WORD_SPLIT = re.compile(r"[\s()\[\]{};=\"']+")
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:[A-Za-z]{1,5}|%)?")


def first_sentence(text: str) -> str:
    match = _SENTENCE_END.search(text)
    return text[: match.start()] if match else text


def numbers_in(text: str) -> list[float]:
    found = []
    for word in _WORD_SPLIT.split(text):
        word = word.strip(".,:!?")
        match = _NUMBER.fullmatch(word)
        if match:
            found.append(float(match.group(1).replace(",", "") + (match.group(2) or "")))
    return found


def _word(value: str) -> re.Pattern[str]:
    # A whole word: not preceded by a word character or a dot, not followed by one (nor by ".<digit>").
    return re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w]|\.\w)")


def contains_value(text: str, expected: dict[str, Any], tolerance: dict[str, Any]) -> bool:
    rule = tolerance["rule"]
    if rule == "exact":
        return any(number == expected["value"] for number in numbers_in(text))
    if rule == "numeric":
        return any(math.isclose(number, expected["value"], abs_tol=tolerance["abs"] + 1e-9)
                   for number in numbers_in(text))
    if rule == "timestamp":
        return _word(expected["value"]).search(text) is not None
    if rule == "set":
        return all(_word(str(value)).search(text) for value, _ in expected["values"])
    if rule == "ordered":
        position = 0
        for value, _ in expected["values"]:
            match = _word(str(value)).search(text, position)
            if match is None:
                return False
            position = match.end()
        return True
    if rule == "series":
        labels = [label for label, _ in expected["buckets"]]
        position = 0
        spans = []
        for label in labels:
            match = _word(label).search(text, position)
            if match is None:
                return False
            spans.append(match)
            position = match.end()
        for index, (match, (_, count)) in enumerate(zip(spans, expected["buckets"], strict=True)):
            end = spans[index + 1].start() if index + 1 < len(spans) else len(text)
            if count not in numbers_in(text[match.end(): end]):
                return False
        return True
    raise ValueError(f"unknown tolerance rule {rule!r}")


def result_has_value(result: dict[str, Any] | None, expected: dict[str, Any], tolerance: dict[str, Any]) -> bool:
    """Whether the JSON `result` carries the expected value (the number was computed, said or not)."""
    if not result:
        return False
    kind = expected["kind"]
    if kind in ("first", "last"):
        ts = result.get("ts")
        return bool(ts) and datetime.fromisoformat(ts).strftime("%Y-%m-%d %H:%M:%S") == expected["value"]
    if kind == "top":
        values = [str(value) for value, _ in result.get("values") or []]
        return values[: len(expected["values"])] == [str(value) for value, _ in expected["values"]]
    if kind == "series":
        buckets = [[str(start).replace("T", " ")[:16], count] for start, count in result.get("series") or []]
        return buckets == [[label, count] for label, count in expected["buckets"]]
    candidates = [result.get(key) for key in ("count", "value", "sum", "distinct", "avg")]
    wanted = expected["value"]
    abs_tol = tolerance.get("abs", 0) + 1e-9
    return any(isinstance(c, int | float) and math.isclose(c, wanted, abs_tol=abs_tol) for c in candidates)


# --- the grep baseline ------------------------------------------------------------------------------

QUESTION_WORDS = frozenset({
    "a", "about", "all", "an", "and", "any", "anything", "are", "at", "be", "been", "by", "can", "count", "did",
    "do", "does", "during", "event", "events", "ever", "for", "from", "had", "has", "have", "how", "in", "is", "it",
    "its", "lines", "log", "logged", "many", "messages", "much", "number", "of", "on", "or", "our", "the", "there",
    "these", "this", "those", "times", "to", "total", "was", "we", "were", "what", "when", "which", "who", "with",
})


def grep_words(question: str) -> list[str]:
    words = []
    for raw in question.lower().split():
        word = raw.strip("?!.,;:'\"()")
        if word and word not in QUESTION_WORDS:
            words.append(word)
    return words


def grep_count(question: str, lines: list[str]) -> int:
    words = grep_words(question)
    return sum(1 for line in lines if all(word in line for word in words))


# --- running logchat ----------------------------------------------------------------------------------


def logchat(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Our own CLI, with arguments built here.
    return subprocess.run(
        [sys.executable, "-m", "logchat", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )


def isolated_env(home: Path, *, fields: bool = True) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["XDG_CONFIG_HOME"] = str(home / "config")  # no user configuration
    env.pop("LOGCHAT_CONFIG", None)
    for key in [key for key in env if key.startswith("LOGCHAT_")]:
        env.pop(key)
    if not fields:
        env["LOGCHAT_INGEST__FIELDS"] = "false"  # the default reads named fields: what field conditions need
    return env


def explain_supported(work: Path, env: dict[str, str]) -> bool:
    return "--explain" in logchat(["ask", "--help"], work, env).stdout


def run_system(system: str, questions: list[dict[str, Any]], loghub: Path, work: Path, env: dict[str, str],
               explain: bool) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Index the system's log once, ask its questions; one answer object per question, in order."""
    home = work / system
    logs = home / "logs"
    logs.mkdir(parents=True)
    source = loghub / questions[0]["log"]
    copy = logs / source.name
    shutil.copyfile(source, copy)
    reference = questions[0].get("reference_mtime")
    if reference:
        stamp = datetime.fromisoformat(reference).timestamp()
        os.utime(copy, (stamp, stamp))
    data_dir = home / "data"
    started = time.perf_counter()
    indexed = logchat(["--data-dir", str(data_dir), "--quiet", "index", str(copy), "--json"], home, env)
    index_seconds = time.perf_counter() - started
    if indexed.returncode != 0:
        raise RuntimeError(f"{system}: logchat index failed ({indexed.returncode}): {indexed.stderr.strip()}")
    answers: dict[str, dict[str, Any]] = {}
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for question in questions:
        groups[question["now"]].append(question)
    started = time.perf_counter()
    for now, group in groups.items():
        batch = home / f"questions-{len(answers)}.txt"
        batch.write_text("".join(q["question"] + "\n" for q in group), encoding="utf-8")
        args = ["--data-dir", str(data_dir), "ask", "--file", str(batch), "--json", "--no-llm"]
        if now:
            args += ["--now", now]
        if explain:
            args.append("--explain")
        asked = logchat(args, home, env)
        lines = [line for line in asked.stdout.splitlines() if line.strip()]
        if asked.returncode != 0 or len(lines) != len(group):
            raise RuntimeError(f"{system}: logchat ask gave {len(lines)} answers for {len(group)} questions "
                               f"(exit {asked.returncode}): {asked.stderr.strip()[-500:]}")
        for question, line in zip(group, lines, strict=True):
            answers[question["id"]] = json.loads(line)
    ask_seconds = time.perf_counter() - started
    return [answers[q["id"]] for q in questions], {"index_s": index_seconds, "ask_s": ask_seconds}


# --- scoring and the table ----------------------------------------------------------------------------


def score(question: dict[str, Any], answer: dict[str, Any], raw_lines: list[str]) -> dict[str, Any]:
    text = answer.get("answer") or ""
    expected, tolerance = question["expected"], question["tolerance"]
    grep = None
    if expected["kind"] == "count":
        grep = grep_count(question["question"], raw_lines) == expected["value"]
    return {
        "id": question["id"],
        "system": question["system"],
        "category": question["category"],
        "gate": question["gate"],
        "question": question["question"],
        "expected": expected.get("value", expected.get("values", expected.get("buckets"))),
        "first_sentence": first_sentence(text),
        "strict": contains_value(first_sentence(text), expected, tolerance),
        "anywhere": contains_value(text, expected, tolerance),
        "result": result_has_value(answer.get("result"), expected, tolerance),
        "grep": grep,
        "intent": (answer.get("filters") or {}).get("intent"),
        "matched": answer.get("matched"),
    }


def summarise(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key] if key != "all" else "overall"].append(row)
    def share(items: list[dict[str, Any]], key: str) -> float | None:
        scored = [r[key] for r in items if r[key] is not None]
        return sum(scored) / len(scored) if scored else None

    return {name: {
        "n": len(items),
        "strict": share(items, "strict"),
        "anywhere": share(items, "anywhere"),
        "result": share(items, "result"),
        "counts": sum(r["grep"] is not None for r in items),
        "logchat_on_counts": share([r for r in items if r["grep"] is not None], "strict"),
        "grep_on_counts": share(items, "grep"),
    } for name, items in sorted(groups.items())}


def _pct(value: float | None, width: int) -> str:
    return f"{value:>{width}.1%}" if value is not None else f"{'-':>{width}}"


def table(title: str, summary: dict[str, dict[str, Any]]) -> str:
    width = max([len(title), *map(len, summary)])
    lines = [f"{title:<{width}}  {'n':>4}  {'first sentence':>14}  {'anywhere':>8}  {'result':>6}  "
             f"{'counts':>6}  {'logchat':>7}  {'grep':>6}"]
    lines.append("-" * len(lines[0]))
    for name, s in summary.items():
        lines.append(f"{name:<{width}}  {s['n']:>4}  {_pct(s['strict'], 14)}  {_pct(s['anywhere'], 8)}  "
                     f"{_pct(s['result'], 6)}  {s['counts']:>6}  {_pct(s['logchat_on_counts'], 7)}  "
                     f"{_pct(s['grep_on_counts'], 6)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="the question set (JSON Lines)")
    parser.add_argument("--loghub", type=Path, default=LOGHUB, help="the loghub folder")
    parser.add_argument("--system", action="append", help="only this system (repeatable)")
    parser.add_argument("--category", action="append", help="only this category (repeatable)")
    parser.add_argument("--gate", action="store_true", help="only the gate questions")
    parser.add_argument("--json", action="store_true", help="print one JSON document (summaries and every row)")
    parser.add_argument("--explain", action="store_true", help="ask for each answer's plan (`ask --explain`)")
    parser.add_argument("--show-failures", action="store_true", help="list questions missed in the first sentence")
    parser.add_argument("--keep", type=Path, help="keep the data dirs under this directory")
    parser.add_argument("--no-fields", dest="fields", action="store_false",
                        help="index without named fields ([ingest] fields = false; they are on by default)")
    args = parser.parse_args(argv)

    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line]
    questions = [q for q in questions if (not args.system or q["system"] in args.system)
                 and (not args.category or q["category"] in args.category) and (not args.gate or q["gate"])]
    if not questions:
        print("no question matches the filters", file=sys.stderr)
        return 2
    by_system: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for question in questions:
        by_system[question["system"]].append(question)

    work = Path(tempfile.mkdtemp(prefix="logchat-eval-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    env = isolated_env(work, fields=args.fields)
    explain = False
    if args.explain:
        explain = explain_supported(work, env)
        if not explain:
            print("plans are not available: `logchat ask --explain` does not exist yet", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    timings: dict[str, dict[str, float]] = {}
    try:
        for system, group in sorted(by_system.items()):
            answers, timings[system] = run_system(system, group, args.loghub, work, env, explain)
            raw_lines = (args.loghub / group[0]["log"]).read_text(encoding="utf-8", errors="replace").lower()
            for question, answer in zip(group, answers, strict=True):
                row = score(question, answer, raw_lines.splitlines())
                if explain and "plan" in answer:
                    row["plan"] = answer["plan"]
                rows.append(row)
            print(f"{system}: {len(group)} questions, index {timings[system]['index_s']:.1f} s, "
                  f"ask {timings[system]['ask_s']:.1f} s", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    summaries = {key: summarise(rows, key) for key in ("category", "system", "all")}
    gate_rows = [row for row in rows if row["gate"]]
    if gate_rows:
        summaries["gate"] = summarise(gate_rows, "all")
    if args.json:
        print(json.dumps({"questions": len(rows), "summaries": summaries, "timings": timings, "rows": rows},
                         indent=2, default=str))
        return 0
    print(table("category", summaries["category"]))
    print()
    print(table("system", summaries["system"]))
    print()
    print(table("all", summaries["all"] | ({"gate": summaries["gate"]["overall"]} if gate_rows else {})))
    if args.show_failures:
        print("\nmissed in the first sentence:")
        for row in rows:
            if not row["strict"]:
                print(f"  {row['id']}: {row['question']!r} expected {row['expected']}; "
                      f"said {row['first_sentence'][:160]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
