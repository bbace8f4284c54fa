"""Run a command and measure its wall time and the peak memory of its process tree.

The tree matters: a dbt build is a dbt process whose DuckDB runs in-process,
but a Dagster run or a sandboxed CRM sync may start children, and the machine
has to hold all of them at once. Memory is sampled from ``/proc`` (psutil is
not a dependency of the project): the resident set of the command and every
descendant, summed, every ``SAMPLE_SECONDS``. A spike shorter than the
interval can fall between samples, so the kernel's own high-water mark of the
command (``ru_maxrss`` from ``wait4``) is taken too, and the larger is kept.
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.2
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measurement:
    command: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_bytes: int
    sampled_peak_rss_bytes: int
    maxrss_bytes: int
    log_path: str


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended while the folder was listed
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def tree_pids(root: int) -> list[int]:
    """The root and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    try:
        resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident_pages * PAGE_SIZE


def tree_rss_bytes(root: int) -> int:
    return sum(rss_bytes(pid) for pid in tree_pids(root))


def run_measured(
    command: list[str], env: dict[str, str], cwd: Path, log_path: Path
) -> Measurement:
    """Run ``command`` to completion, its output to ``log_path``; never raises on failure."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sampled_peak = 0
    with log_path.open("w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        # wait4 rather than Popen.poll: it also returns the child's resource use.
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            sampled_peak = max(sampled_peak, tree_rss_bytes(process.pid))
            time.sleep(SAMPLE_SECONDS)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss * 1024  # Linux reports kilobytes
    return Measurement(
        command=command,
        returncode=process.returncode,
        wall_seconds=wall,
        peak_rss_bytes=max(sampled_peak, maxrss),
        sampled_peak_rss_bytes=sampled_peak,
        maxrss_bytes=maxrss,
        log_path=str(log_path),
    )
