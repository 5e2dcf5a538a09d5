"""Whether two checkouts store the same named fields for the same logs.

    python benchmarks/compare_fields.py --baseline /path/to/other/checkout [--datasets ../shared/datasets]

Every file under the datasets folder (the loghub logs, their CSV files and the full logs) is indexed into a
store of its own, once at the default batch size and once in batches of 700 events (so templates also
generalise across batches, and the fields of events already stored are read again); each loghub log is also
indexed in two runs (its first half, then the rest), and the whole loghub mix (every ``*.log``) into one
store. From each store: the stored fields text of every event (by source and line), each template's text and
every template_fields row. The two checkouts' dumps are compared case by case; the exit status is 1 when any
differs. Run in each checkout's own process (``PYTHONPATH``), so each uses its own code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SMALL_BATCH = 700


def cases(datasets: Path) -> list[dict[str, Any]]:
    """(name, files, batch size, split) of each store to build: split files are indexed in two runs."""
    files = sorted(path for path in datasets.rglob("*") if path.is_file() and path.suffix in (".log", ".csv"))
    found: list[dict[str, Any]] = []
    for path in files:
        name = str(path.relative_to(datasets))
        found.append({"name": name, "files": [str(path)], "batch": 20_000, "split": False})
        found.append(
            {"name": f"{name} (batches of {SMALL_BATCH})", "files": [str(path)], "batch": SMALL_BATCH, "split": False}
        )
        if path.suffix == ".log":
            found.append({"name": f"{name} (two runs)", "files": [str(path)], "batch": 20_000, "split": True})
    logs = [str(path) for path in files if path.suffix == ".log"]
    found.append({"name": "loghub mix", "files": logs, "batch": 20_000, "split": False})
    found.append(
        {"name": f"loghub mix (batches of {SMALL_BATCH})", "files": logs, "batch": SMALL_BATCH, "split": False}
    )
    return found


def dump_case(case: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """Index the case's files into a new store and read back what fields it holds."""
    from sqlalchemy import select

    from logchat.config import load_settings
    from logchat.services.ingest import index_inputs
    from logchat.storage.db import open_store
    from logchat.storage.models import Event, Source, Template, TemplateField

    data_dir = Path(tempfile.mkdtemp(dir=scratch))
    try:
        settings = load_settings(data_dir=data_dir)
        settings.ingest.fields = True
        settings.ingest.batch_size = case["batch"]
        store = open_store(settings.database_url)
        try:
            if case["split"]:
                # The same file name in both runs: the second run reads what was appended.
                (original,) = case["files"]
                data = Path(original).read_bytes()
                cut = data.index(b"\n", len(data) // 2) + 1
                log = data_dir / Path(original).name
                log.write_bytes(data[:cut])
                index_inputs(store, settings, [str(log)])
                with log.open("ab") as handle:
                    handle.write(data[cut:])
                index_inputs(store, settings, [str(log)])
            else:
                index_inputs(store, settings, list(case["files"]))
            with store.session() as session:
                events = [
                    [Path(location).name, line, fields if isinstance(fields, str) or fields is None
                     else json.dumps(fields, sort_keys=True)]
                    for location, line, fields in session.execute(
                        select(Source.location, Event.line_no, Event.fields).join(Source, Source.id == Event.source_id)
                        .order_by(Event.id)
                    )
                ]  # fmt: skip
                templates = [
                    list(row) for row in session.execute(select(Template.id, Template.template).order_by(Template.id))
                ]
                template_fields = [list(row) for row in session.execute(
                    select(TemplateField.template_id, TemplateField.name, TemplateField.type, TemplateField.kind,
                           TemplateField.unit, TemplateField.count, TemplateField.example)
                    .order_by(TemplateField.template_id, TemplateField.name)
                )]  # fmt: skip
        finally:
            store.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"events": events, "templates": templates, "template_fields": template_fields}


def dump_all(datasets: Path, out: Path) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="compare-fields-") as scratch:
        for case in cases(datasets):
            results[case["name"]] = dump_case(case, Path(scratch))
    out.write_text(json.dumps(results))


def in_checkout(checkout: Path, datasets: Path, out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from compare_fields import dump_all; dump_all(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "benchmarks"), str(datasets), str(out)],
        env=env,
        check=True,
        cwd=checkout,
    )
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def first_difference(left: list[Any], right: list[Any]) -> str:
    for index, (a, b) in enumerate(zip(left, right, strict=False)):
        if a != b:
            return f"row {index}: {a!r} != {b!r}"
    return f"{len(left)} rows != {len(right)} rows"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-fields-") as scratch:
        base = in_checkout(args.baseline.resolve(), args.datasets.resolve(), Path(scratch) / "baseline.json")
        this = in_checkout(ROOT, args.datasets.resolve(), Path(scratch) / "this.json")
    differing = examples_only = 0
    events = values = rows = 0
    for name, expected in base.items():
        found = this.get(name)
        if found == expected:
            events += len(expected["events"])
            values += sum(len(json.loads(fields)) for _, _, fields in expected["events"] if fields)
            rows += len(expected["template_fields"])
            continue
        differing += 1
        for part in ("templates", "events", "template_fields"):
            if found is None or found[part] != expected[part]:
                if part == "template_fields" and without_examples(found[part]) == without_examples(expected[part]):
                    # Which event of a pattern's shape gives the example is not promised, only that one does.
                    examples_only += 1
                    changed = sum(a != b for a, b in zip(found[part], expected[part], strict=True))
                    print(f"{name}: only examples differ, {changed} of {len(found[part])} template_fields rows")
                    break
                print(f"{name}: {part} differ, {first_difference(expected[part], found[part] if found else [])}")
                break
    print(
        f"{len(base)} stores, {len(base) - differing} the same ({events:,} events, {values:,} field values, "
        f"{rows:,} template_fields rows), {differing} differ ({examples_only} only in template_fields' examples)"
    )
    raise SystemExit(1 if differing else 0)


def without_examples(template_fields: list[list[Any]]) -> list[list[Any]]:
    """template_fields rows without their last column, the example."""
    return [row[:-1] for row in template_fields]


if __name__ == "__main__":
    main()
