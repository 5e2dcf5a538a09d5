"""Remote ingest benchmark: `logchat index ssh://…` over loopback SSH against `logchat index` of the same
files on local disk, and against the obvious alternative, copying the files first (SFTP get, like scp)
and indexing the copies. Also the raw SFTP read rate, which bounds the remote reader.

A real OpenSSH server is started on 127.0.0.1 (tests/sshd_server.py); the corpus is bench_ingest.py's
generator (syslog, nginx access, Java with stack traces, JSON lines).

    python benchmarks/bench_remote.py [--lines 200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ingest import LOGCHAT, generate_corpus, line_count  # noqa: E402
from sshd_server import SshServer  # noqa: E402


def index(inputs: list[str], data_dir: Path, config: Path, identity: Path | None = None) -> float:
    command = [*LOGCHAT, "--quiet", "--config", str(config), "--data-dir", str(data_dir), "index", "--json", *inputs]
    if identity is not None:
        command += ["--identity", str(identity)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"logchat index failed: {done.stderr[-2000:]}")
    return elapsed


def sftp_client(server: SshServer):  # type: ignore[no-untyped-def]
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(server.known_hosts))
    client.connect("127.0.0.1", port=server.port, username="root", key_filename=str(server.client_key),
                   look_for_keys=False, allow_agent=False)
    return client, client.open_sftp()


def sftp_read_only(server: SshServer, paths: list[Path]) -> float:
    """Seconds to stream every file through logchat's remote reader, without parsing or storing."""
    from logchat.ingest.remote import RemoteHost
    from logchat.ingest.ssh_location import RemoteOptions, parse_ssh_url

    host = RemoteHost(parse_ssh_url(server.url(paths[0])),
                      RemoteOptions(identity=str(server.client_key), known_hosts_file=str(server.known_hosts)))
    started = time.perf_counter()
    for path in paths:
        with host.open(str(path)) as handle:
            while handle.read(1 << 20):
                pass
    elapsed = time.perf_counter() - started
    host.close()
    return elapsed


def copy_then_index(server: SshServer, paths: list[Path], work: Path, config: Path) -> float:
    client, sftp = sftp_client(server)
    copies = work / "copies"
    copies.mkdir()
    started = time.perf_counter()
    for path in paths:
        sftp.get(str(path), str(copies / path.name))
    copied = time.perf_counter() - started
    client.close()
    return copied + index([str(copies / path.name) for path in paths], work / "copied-store", config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is shown")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="logchat-bench-remote-"))
    server = SshServer.create(work / "sshd")
    server.start()
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        paths = generate_corpus(corpus, args.lines)
        lines = line_count(paths)
        megabytes = sum(path.stat().st_size for path in paths) / 1e6
        config = work / "logchat.toml"
        config.write_text(f'[remote]\nknown_hosts_file = "{server.known_hosts}"\n')
        runs: dict[str, list[float]] = {}
        for attempt in range(args.repeat):  # the best of a few: the machine is shared and noisy
            round_dir = work / f"round-{attempt}"
            round_dir.mkdir()
            for label, seconds in [
                ("local: logchat index FILES", index([str(p) for p in paths], round_dir / "local", config)),
                ("remote: logchat index ssh://127.0.0.1/…", index([server.url(corpus) + "/*"], round_dir / "remote",
                                                                   config, identity=server.client_key)),
                ("copy over SFTP, then index the copies", copy_then_index(server, paths, round_dir, config)),
                ("remote reader alone (SFTP, no parsing)", sftp_read_only(server, paths)),
            ]:
                runs.setdefault(label, []).append(seconds)
        results = [(label, min(times)) for label, times in runs.items()]
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    local = results[0][1]
    print(f"\n{lines:,} lines, {megabytes:.1f} MB in {len(paths)} files; sshd on 127.0.0.1 (loopback); "
          f"best of {args.repeat}\n")
    print(f"| {'run':<42} | {'seconds':>8} | {'lines/s':>10} | {'MB/s':>7} | {'vs local':>8} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 12}|{'-' * 9}|{'-' * 10}|")
    for label, seconds in results:
        print(f"| {label:<42} | {seconds:8.2f} | {lines / seconds:10,.0f} | {megabytes / seconds:7.1f} | "
              f"{local / seconds:8.2f} |")


if __name__ == "__main__":
    main()
