"""Secret masking: speed on a real log and recall on the secret corpus, against detect-secrets.

The obvious alternative to logchat's combined regex is Yelp's detect-secrets (its plugins are the
reference for most vendor token formats). For each, on every line of the corpus
tests/corpus/secrets_corpus.jsonl: how many annotated secrets it finds; and on a real log
(../shared/datasets/loghub_full/Linux/Linux.log by default): lines per second.

    .venv/bin/python benchmarks/bench_secrets.py [--log PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from logchat.redaction import mask_secrets

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "secrets_corpus.jsonl"
DEFAULT_LOG = ROOT.parent / "shared" / "datasets" / "loghub_full" / "Linux" / "Linux.log"


def detect_secrets_scanner() -> Callable[[str], list[str]]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    def scan(line: str) -> list[str]:
        # Its entropy plugins flag ordinary words ("accepted", "status=200") on every line: left out.
        with default_settings():
            return [found.secret_value or "" for found in scan_line(line) if "High Entropy" not in found.type]

    return scan


def rate(function: Callable[[str], object], lines: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for line in lines:
            function(line)
        best = min(best, time.perf_counter() - started)
    return len(lines) / best


def recall_logchat(records: list[dict]) -> tuple[int, int]:
    found = total = 0
    for record in records:
        masked = mask_secrets(record["line"])
        for secret in record["secrets"]:
            total += 1
            found += secret not in masked and json.dumps(secret)[1:-1] not in masked
    return found, total


def recall_detect_secrets(records: list[dict], scan: Callable[[str], list[str]]) -> tuple[int, int, set[str]]:
    """Lines with secrets that detect-secrets' named plugins flag at all (generous: it reports what it
    found, not always the whole secret), and the kinds it never flags."""
    flagged = total = 0
    kinds: dict[str, bool] = {}
    for record in records:
        if not record["secrets"]:
            continue
        total += 1
        hit = bool(scan(record["line"]))
        flagged += hit
        kinds[record["kind"]] = kinds.get(record["kind"], False) or hit
    return flagged, total, {kind for kind, seen in kinds.items() if not seen}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    records = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    lines = args.log.read_text(encoding="utf-8", errors="replace").splitlines()
    scan = detect_secrets_scanner()

    ours, total = recall_logchat(records)
    ours_lines = sum(
        all(secret not in mask_secrets(r["line"]) for secret in r["secrets"]) for r in records if r["secrets"]
    )
    theirs, lines_total, missed = recall_detect_secrets(records, scan)
    baseline = rate(lambda line: line, lines, args.repeat)
    ours_rate = rate(mask_secrets, lines, args.repeat)
    sample = lines[: max(1, len(lines) // 10)]
    theirs_rate = rate(scan, sample, 1)
    print(f"corpus: {len(records)} lines, {lines_total} with {total} secrets of "
          f"{len({r['kind'] for r in records}) - 1} kinds")
    print(f"{'detector':<30}{'lines cleared/flagged':>23}{'lines/s on ' + args.log.name:>26}")
    print(f"{'(loop only)':<30}{'':>23}{baseline:>26,.0f}")
    print(f"{'logchat.redaction':<30}{f'{ours_lines}/{lines_total} ({ours}/{total} secrets)':>23}{ours_rate:>26,.0f}")
    print(f"{'detect-secrets 1.5 scan_line':<30}{f'{theirs}/{lines_total}':>23}{theirs_rate:>26,.0f}")
    print(f"kinds detect-secrets never flags: {', '.join(sorted(missed)) or 'none'}")
    print(f"logchat.redaction is {ours_rate / theirs_rate:,.0f}x faster")


if __name__ == "__main__":
    main()
