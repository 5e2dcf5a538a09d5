"""Remote ingest benchmark: `logchat index ssh://…` over loopback SSH against `logchat index` of the same
files on local disk, and against the obvious alternative, copying the files first (SFTP get, like scp)
and indexing the copies. Also the raw SFTP read rate, which bounds the remote reader.

Then a fleet: N sshd instances (N hosts), each serving its own share of the corpus (its four files),
and then each serving many small files, indexed in one run with `[remote] max_hosts = 1` (one host
after the other) against `max_hosts = N` (all hosts at once). Wall seconds and the CPU seconds of the
`logchat` process are both shown: reading hosts concurrently overlaps their network waits, it does
not make the parsing cheaper.

A real OpenSSH server is started on 127.0.0.1 (tests/sshd_server.py); the corpus is bench_ingest.py's
generator (syslog, nginx access, Java with stack traces, JSON lines).

    python benchmarks/bench_remote.py [--lines 200000] [--repeat 2] [--hosts 3]
"""

from __future__ import annotations

import argparse
import resource
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
    return index_timed(inputs, data_dir, config, identity)[0]


def index_timed(inputs: list[str], data_dir: Path, config: Path, identity: Path | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the logchat process and its reader processes)."""
    command = [*LOGCHAT, "--quiet", "--config", str(config), "--data-dir", str(data_dir), "index", "--json", *inputs]
    if identity is not None:
        command += ["--identity", str(identity)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"logchat index failed: {done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def start_fleet(work: Path, first: SshServer, count: int) -> tuple[list[SshServer], Path]:
    """``count`` more sshd instances letting in ``first``'s client key, and a known_hosts naming all."""
    servers = []
    for number in range(count):
        server = SshServer.create(work / f"host-{number}")
        (server.root / "authorized_keys").write_text((first.root / "client_ed25519.pub").read_text())
        server.start()
        servers.append(server)
    known_hosts = work / "fleet_known_hosts"
    known_hosts.write_text("".join(server.known_hosts.read_text() for server in servers))
    return servers, known_hosts


def fleet_rounds(servers: list[SshServer], known_hosts: Path, client_key: Path, work: Path, lines: int,
                 repeat: int) -> list[tuple[str, str, float, float, int]]:
    """(workload, run, best wall seconds, its CPU seconds, lines) for each workload and max_hosts."""
    workloads: dict[str, list[str]] = {}
    total: dict[str, int] = {}
    share = lines // len(servers)
    big, small = [], []
    for number, server in enumerate(servers):
        corpus = work / f"fleet-corpus-{number}"
        corpus.mkdir()
        big.append(server.url(corpus) + "/*")
        total["big"] = total.get("big", 0) + line_count(generate_corpus(corpus, share))
        many = work / f"fleet-small-{number}"
        many.mkdir()
        piece = (corpus / "syslog.log").read_bytes().splitlines(keepends=True)[:500]
        for file_number in range(20):
            (many / f"app-{file_number:02d}.log").write_bytes(b"".join(piece))
        small.append(server.url(many) + "/*.log")
        total["small"] = total.get("small", 0) + 20 * len(piece)
    workloads[f"{len(servers)} hosts x 4 files ({share:,} lines each host)"] = big
    workloads[f"{len(servers)} hosts x 20 files of 500 lines"] = small
    rows = []
    for (label, inputs), kind in zip(workloads.items(), ("big", "small"), strict=True):
        best: dict[str, tuple[float, float]] = {}
        for attempt in range(repeat):  # interleaved: sequential, concurrent, sequential, ...
            for run, max_hosts in (("sequential (max_hosts = 1)", 1), (f"concurrent (max_hosts = {len(servers)})",
                                                                         len(servers))):
                config = work / f"fleet-{max_hosts}.toml"
                config.write_text(f'[remote]\nknown_hosts_file = "{known_hosts}"\nmax_hosts = {max_hosts}\n')
                data_dir = work / f"fleet-{kind}-{max_hosts}-{attempt}"
                wall, cpu = index_timed(inputs, data_dir, config, identity=client_key)
                if run not in best or wall < best[run][0]:
                    best[run] = (wall, cpu)
        rows.extend((label, run, wall, cpu, total[kind]) for run, (wall, cpu) in best.items())
    return rows


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
    parser.add_argument("--hosts", type=int, default=3, help="sshd instances for the fleet rows")
    parser.add_argument("--fleet-only", action="store_true", help="only the N hosts rows")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="logchat-bench-remote-"))
    server = SshServer.create(work / "sshd")
    server.start()
    fleet: list[SshServer] = []
    try:
        fleet, known_hosts = start_fleet(work, server, args.hosts)
        fleet_rows = fleet_rounds(fleet, known_hosts, server.client_key, work, args.lines, args.repeat)
        print_fleet(fleet_rows, args.repeat)
        if args.fleet_only:
            return
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
        for host in [server, *fleet]:
            host.stop()
        shutil.rmtree(work, ignore_errors=True)
    local = results[0][1]
    print(f"\n{lines:,} lines, {megabytes:.1f} MB in {len(paths)} files; sshd on 127.0.0.1 (loopback); "
          f"best of {args.repeat}\n")
    print(f"| {'run':<42} | {'seconds':>8} | {'lines/s':>10} | {'MB/s':>7} | {'vs local':>8} |")
    print(f"|{'-' * 44}|{'-' * 10}|{'-' * 12}|{'-' * 9}|{'-' * 10}|")
    for label, seconds in results:
        print(f"| {label:<42} | {seconds:8.2f} | {lines / seconds:10,.0f} | {megabytes / seconds:7.1f} | "
              f"{local / seconds:8.2f} |")


def print_fleet(rows: list[tuple[str, str, float, float, int]], repeat: int) -> None:
    print(f"\nN hosts, sequential vs concurrent: one `logchat index` over every host; best of {repeat}, interleaved\n")
    print(f"| {'hosts and files':<44} | {'run':<28} | {'wall s':>7} | {'CPU s':>6} | {'lines/s':>9} | "
          f"{'speed-up':>8} |")
    print(f"|{'-' * 46}|{'-' * 30}|{'-' * 9}|{'-' * 8}|{'-' * 11}|{'-' * 10}|")
    sequential: dict[str, float] = {}
    for label, run, wall, cpu, lines in rows:
        sequential.setdefault(label, wall)
        print(f"| {label:<44} | {run:<28} | {wall:7.2f} | {cpu:6.2f} | {lines / wall:9,.0f} | "
              f"{sequential[label] / wall:8.2f} |")


if __name__ == "__main__":
    main()
