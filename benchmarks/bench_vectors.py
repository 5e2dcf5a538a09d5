"""Vector index upkeep with the vectors kept in the database, and what a new replica pays to get them.

On bench_ingest.py's generated corpus (syslog, nginx access, Java with stack traces, JSON lines),
indexed once without vectors, measures in separate processes:

- a full vector update (cut windows, embed every template and window content, write the rows, write
  this process's cache files), an update with nothing new, and an incremental update after 1% more lines;
  the same on the 16 loghub 2k samples (many distinct templates), when ../shared/datasets is there;
- a fresh replica (empty data dir, same database) loading every vector from the database, against the
  obvious alternative: embedding everything again itself (what each replica had to do when every
  process kept its own vector files); with the hashing embedder, the fastest there is, so the ratio
  is a lower bound (a model server embeds far slower);
- a replica restarting with its cache files, and the check a warm replica makes before each question;
- with ``--baseline DIR`` (a checkout of the version that kept vectors only in files), the same
  updates run by that code on its own store, as a before/after.

    python benchmarks/bench_vectors.py [--lines 200000] [--database-url URL] [--baseline DIR]

``--database-url``: a PostgreSQL server to run on (a fresh schema is created and dropped); SQLite by default.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

# Each step runs in its own process, as a replica or a cron job would: ARGV = code dir, step, data dir,
# database URL, input paths. Prints one JSON object.
_STEP = r"""
import json, sys, time
from pathlib import Path
step, data_dir, url, *paths = sys.argv[1:]
from logchat.config import load_settings
from logchat.storage.db import open_store
settings = load_settings(data_dir=Path(data_dir), database={"url": url})
store = open_store(url)
from logchat.services import vectors
# Heavy libraries are loaded before the clock starts: every step would pay them once per process.
import faiss, numpy, logchat.retrieval.embeddings, logchat.retrieval.vector_store
started = time.perf_counter()
if step == "ingest":
    from logchat.services.ingest import index_inputs
    report = index_inputs(store, settings, paths)
    result = {"events": report.new_events}
elif step == "update":
    report = vectors.update_vector_index(store, settings).to_dict()
    result = {k: report[k] for k in ("templates_embedded", "signatures_embedded", "template_vectors",
                                     "window_vectors", "events_windowed")}
elif step == "load":
    loaded = vectors.load_vectors(settings, store)
    first = time.perf_counter() - started
    checks = []
    for _ in range(20):  # what a warm replica does before each question: is anything new?
        t = time.perf_counter()
        vectors.load_vectors(settings, store)
        checks.append(time.perf_counter() - t)
    result = {"templates": len(loaded.templates), "windows": len(loaded.windows), "check": min(checks),
              "seconds": first}
elif step == "embed-all":
    # What a replica does without shared vectors: embed every template and window content itself.
    from logchat.retrieval.embeddings import make_embedder
    from logchat.retrieval.vector_store import VectorIndex
    from logchat.storage import vector_repo
    with store.session() as session:
        texts = vector_repo.all_template_texts(session)
        signatures = vector_repo.signature_contents(session)
    embedder = make_embedder(settings.embeddings)
    templates = VectorIndex(settings.embeddings.dimensions)
    windows = VectorIndex(settings.embeddings.dimensions)
    ids = list(texts)
    for start in range(0, len(ids), 2048):
        chunk = ids[start:start + 2048]
        templates.add(chunk, embedder.embed([texts[i] for i in chunk]))
    for start in range(0, len(signatures), 2048):
        chunk = signatures[start:start + 2048]
        contents = ["\n".join(texts.get(int(t), "") for t in ids_.split()) for _, ids_ in chunk]
        windows.add([sid for sid, _ in chunk], embedder.embed(contents))
    templates.save(Path(data_dir) / "t.faiss")
    windows.save(Path(data_dir) / "w.faiss")
    result = {"templates": len(templates), "windows": len(windows)}
store.close()
result.setdefault("seconds", time.perf_counter() - started)
print(json.dumps(result))
"""


def run_step(code_dir: Path, step: str, data_dir: Path, url: str, *paths: Path) -> dict:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOGCHAT_")}
    environment["PYTHONPATH"] = str(code_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", _STEP, step, str(data_dir), url, *map(str, paths)],
                          env=environment, capture_output=True, text=True, cwd=data_dir)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed ({code_dir}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(code_dir: Path, work: Path, url: str, corpus: list[Path], extra: list[Path], *, shared: bool) -> dict:
    """The updates, and (``shared``: this tree) what a new replica pays."""
    results: dict = {}
    run_step(code_dir, "ingest", work / "a", url, *corpus)
    results["full"] = run_step(code_dir, "update", work / "a", url)
    results["noop"] = run_step(code_dir, "update", work / "a", url)
    run_step(code_dir, "ingest", work / "a", url, *extra)
    results["incremental"] = run_step(code_dir, "update", work / "a", url)
    if shared:
        results["fresh"] = run_step(code_dir, "load", work / "b", url)
        results["restart"] = run_step(code_dir, "load", work / "b", url)
        results["embed_all"] = run_step(code_dir, "embed-all", work / "c", url)
    else:
        # A second replica of that version on the same database embeds everything for its own files.
        results["fresh"] = run_step(code_dir, "update", work / "b", url)
    return results


def _postgres_schema(base_url: str) -> tuple[str, str]:
    schema = f"bench_vectors_{uuid.uuid4().hex[:8]}"
    from sqlalchemy import create_engine, text

    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}", schema


def _drop_schema(base_url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _best(runs: list[dict]) -> dict:
    """Per step, the run with the shortest time (the machine's noise only ever adds)."""
    return {step: min((run[step] for run in runs), key=lambda result: result["seconds"]) for step in runs[0]}


def _print_table(title: str, results: dict, *, baseline: bool) -> None:
    ours = results["database (this tree)"]
    print(f"\n{title}: {ours['full']['template_vectors']:,} templates, "
          f"{ours['full']['window_vectors']:,} window contents\n")
    header = f"{'step':<44} " + " ".join(f"{label:>22}" for label in results)
    print(header)
    print("-" * len(header))
    for key, name in (("full", "full vector update (embed all, once)"), ("noop", "update with nothing new"),
                      ("incremental", "update after more lines (+1% / +1 file)")):
        print(f"{name:<44} " + " ".join(f"{r[key]['seconds']:>21.3f}s" for r in results.values()))
    if baseline:
        base = results["files only (baseline)"]
        print(f"{'second replica: vectors ready':<44} {ours['fresh']['seconds']:>21.3f}s "
              f"{base['fresh']['seconds']:>21.3f}s")
    print()
    load, embed = ours["fresh"]["seconds"], ours["embed_all"]["seconds"]
    print(f"{'fresh replica, same database':<44} {'seconds':>10} {'vectors':>10}")
    print(f"{'  load every vector from the database':<44} {load:>10.3f} "
          f"{ours['fresh']['templates'] + ours['fresh']['windows']:>10,}")
    print(f"{'  embed everything again itself (hashing)':<44} {embed:>10.3f} "
          f"{ours['embed_all']['templates'] + ours['embed_all']['windows']:>10,}")
    print(f"{'  restart with its cache files':<44} {ours['restart']['seconds']:>10.3f}")
    print(f"{'  check before a question, nothing new':<44} {ours['restart']['check']:>10.4f}")
    print(f"loading from the database: {embed / load:.1f}x the speed of re-embedding with the hashing embedder "
          "(a model server embeds far slower); times inside the process, heavy imports excluded.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000, help="lines in the generated corpus")
    parser.add_argument("--database-url", help="PostgreSQL to run on (a fresh schema); SQLite files by default")
    parser.add_argument("--baseline", type=Path, help="a checkout of the previous version, for before/after")
    parser.add_argument("--repeat", type=int, default=2, help="runs of everything; each time is the best run")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from bench_ingest import generate_corpus

    work = Path(tempfile.mkdtemp(prefix="logchat-bench-vectors-"))
    schemas: list[str] = []
    try:
        corpus_dir, extra_dir = work / "corpus", work / "extra"
        corpus_dir.mkdir()
        extra_dir.mkdir()
        print(f"generating {args.lines:,} lines ...", file=sys.stderr)
        inputs = {f"generated {args.lines:,} lines": (generate_corpus(corpus_dir, args.lines),
                                                   generate_corpus(extra_dir, max(1, args.lines // 100)))}
        # ../shared beside the checkout (or beside the folder of worktrees)
        loghub = next((base / "shared" / "datasets" / "loghub" for base in (REPO.parent, REPO.parent.parent)
                       if (base / "shared" / "datasets" / "loghub").is_dir()), None)
        if loghub is not None:  # many distinct templates: where loading against embedding shows
            files = sorted(loghub.glob("*/*_2k.log"))
            inputs["loghub 2k x16"] = (files[1:], files[:1])
        trees = {"database (this tree)": REPO}
        if args.baseline:
            trees["files only (baseline)"] = args.baseline
        backend = "PostgreSQL" if args.database_url else "SQLite"
        for input_label, (corpus, extra) in inputs.items():
            results = {}
            for number, (label, code_dir) in enumerate(trees.items()):
                place = work / f"{input_label.split()[0]}-{number}"
                url = f"sqlite:///{place / 'logchat.db'}"
                runs = []
                for attempt in range(args.repeat):
                    print(f"measuring {label} on {input_label} ({attempt + 1}/{args.repeat}) ...", file=sys.stderr)
                    shutil.rmtree(place, ignore_errors=True)
                    place.mkdir(parents=True)
                    if args.database_url:
                        url, schema = _postgres_schema(args.database_url)
                        schemas.append(schema)
                    runs.append(measure(code_dir, place, url, corpus, extra, shared=code_dir == REPO))
                results[label] = _best(runs)
            _print_table(f"{input_label} on {backend}", results, baseline=bool(args.baseline))
    finally:
        for schema in schemas:
            _drop_schema(args.database_url, schema)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
