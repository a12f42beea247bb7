"""Peak memory of langaudit's commands on a >= 2 GB JSONL, whole process tree, against 500 MB.

Generates a JSONL of at least ``--gb`` GiB (default 2.0: 2 GiB = 2.15 * 10^9 bytes) in a
temporary directory by repeating the real ShareGPT sample
``../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl`` (relative to the repository root), with
long records mixed in: after every pass over the sample, one record whose response joins 200
real responses (~250k characters), and every 25th pass one whose response joins every response
of the sample (~1.3M characters, 3.2 MB of UTF-8). Then runs, for each ``--commands`` x
``--jobs`` combination (default: scan and audit, each with ``--jobs 1`` and ``--jobs 2``)::

    langaudit scan  BIG -o out.parquet   --jobs J
    langaudit audit BIG --json out.json  --jobs J      (terminal report to a file)
    langaudit check BIG                  --jobs J      (exit 1, failed rules, is expected)

in a subprocess, and measures the whole process tree (the command and every descendant: with
``--jobs J`` > 1 its J spawn-started workers and multiprocessing's resource tracker; an
input of at most 2,048 records starts none) by polling
``/proc`` every ``--interval`` seconds: descendants from ``/proc/<pid>/task/*/children`` (or
the parents in ``/proc/*/stat`` where that file is missing), ``VmRSS`` and ``VmHWM`` from
``/proc/<pid>/status`` and ``Pss`` from ``/proc/<pid>/smaps_rollup``. Reported: the peak of
the SUM of ``VmRSS`` over the tree at one poll (the job's memory, against the target), the
largest single-process ``VmHWM``, the sum of every process's ``VmHWM`` (an upper bound that
polling cannot miss), the peak PSS sum, and the command's ``ru_maxrss`` from ``os.wait4``. The
outputs are checked (Parquet rows, the audit JSON's ``records``, check's record count). The
temporary files are removed at the end. Exits 1 when a run's peak tree RSS is over the
target. Usage::

    python benchmarks/bench_memory.py [--gb 2.0] [--commands scan audit] [--jobs 1 2]
                                      [--cpu C] [--json results.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchcommon import (
    DEFAULT_SOURCE,
    REPO_ROOT,
    child_env,
    langaudit_command,
    pin,
    snapshot_langaudit,
)

TARGET_MB = 500
MIB = 1 << 20
COMMANDS = ("scan", "audit", "check")


def log(msg: str) -> None:
    print(f"[bench_memory] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Data


def build_data(source: Path, path: Path, size: int) -> dict[str, Any]:
    """Write at least ``size`` bytes of JSONL: passes over ``source`` plus long records."""
    import orjson

    lines = [
        line.rstrip(b"\r\n") + b"\n" for line in source.read_bytes().splitlines() if line.strip()
    ]
    if not lines:
        raise SystemExit(f"bench_memory: {source} has no records")
    records = [orjson.loads(line) for line in lines]
    prompts = [t["value"] for r in records for t in r["conversations"] if t["from"] == "human"]
    answers = [t["value"] for r in records for t in r["conversations"] if t["from"] != "human"]

    def long_record(start: int, count: int) -> bytes:
        take = [answers[(start + i) % len(answers)] for i in range(count)]
        conv = [
            {"from": "human", "value": "\n".join(prompts[start % len(prompts) :][:20])},
            {"from": "gpt", "value": "\n\n".join(take)},
        ]
        return orjson.dumps({"conversations": conv}) + b"\n"

    written = n_records = n_long = longest = passes = 0
    with open(path, "wb") as f:
        while written < size:
            for line in lines:
                f.write(line)
                written += len(line)
            n_records += len(lines)
            extra = [long_record(passes * 200, 200)]
            if passes % 25 == 0:
                extra.append(long_record(passes, len(answers)))
            for line in extra:
                f.write(line)
                written += len(line)
                longest = max(longest, len(line))
            n_records += len(extra)
            n_long += len(extra)
            passes += 1
    return {
        "bytes": written,
        "records": n_records,
        "long_records": n_long,
        "longest_record_bytes": longest,
        "passes": passes,
    }


# ---------------------------------------------------------------------------------------------
# The process tree in /proc


def _children(pid: int) -> list[int] | None:
    """Children of ``pid`` from ``/proc/<pid>/task/*/children``; None where the kernel has no
    such file (CONFIG_PROC_CHILDREN off), [] once ``pid`` has exited."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except (FileNotFoundError, ProcessLookupError):
        return []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None
        except ProcessLookupError:
            continue
    return found


def _parents() -> dict[int, list[int]]:
    """Every process's children, from the parent pid in ``/proc/*/stat`` (the fallback)."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    pids, todo = [], [root]
    by_parent: dict[int, list[int]] | None = None
    while todo:
        pid = todo.pop()
        pids.append(pid)
        kids = _children(pid) if by_parent is None else by_parent.get(pid, [])
        if kids is None:
            by_parent = _parents()
            kids = by_parent.get(pid, [])
        todo.extend(kids)
    return pids


def _status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of ``pid``; empty once it has exited (or is a zombie)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return {}
    return out


def _pss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        return None
    return None


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "main"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    if "resource_tracker" in cmdline:
        return "resource_tracker"
    if "spawn_main" in cmdline or "multiprocessing" in cmdline:
        return "worker"
    return cmdline[:80] or "?"


# ---------------------------------------------------------------------------------------------
# Measuring


def measure(
    cmd: list[str], env: dict[str, str], cpu: int | None, interval: float, stdout: Path
) -> dict[str, Any]:
    """Run ``cmd``; its wall time, exit code and the memory of its process tree over time."""
    preexec = (lambda: pin(cpu)) if cpu is not None else None
    t0 = time.perf_counter()
    with open(stdout, "wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.PIPE, preexec_fn=preexec
        )
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(
        target=lambda: stderr_chunks.append(proc.stderr.read() if proc.stderr else b"")
    )
    reader.start()
    procs: dict[int, dict[str, Any]] = {}  # pid -> role, peak VmHWM / VmRSS, seen
    samples: list[tuple[float, ...]] = []  # (s, RSS sum, main RSS, PSS sum KiB)
    peak_sum = peak_pss = peak_n = 0
    peak_sum_at = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter() - t0
        rss_sum = pss_sum = main_rss = n = 0
        for p in tree(proc.pid):
            st = _status_kib(p)
            if not st:
                continue
            info = procs.get(p)
            if info is None:
                info = procs[p] = {
                    "role": _role(p, proc.pid),
                    "vmhwm_kib": 0,
                    "vmrss_max_kib": 0,
                    "first_s": round(now, 2),
                    "curve": [],
                }
            elif info["role"] not in ("worker", "resource_tracker", "main"):
                info["role"] = _role(p, proc.pid)  # read between fork and exec: look again
            info["vmhwm_kib"] = max(info["vmhwm_kib"], st.get("VmHWM", 0))
            info["vmrss_max_kib"] = max(info["vmrss_max_kib"], st.get("VmRSS", 0))
            info["last_s"] = round(now, 2)
            info["curve"].append((now, st.get("VmRSS", 0)))
            rss_sum += st.get("VmRSS", 0)
            pss_sum += _pss_kib(p) or st.get("VmRSS", 0)
            n += 1
            if p == proc.pid:
                main_rss = st.get("VmRSS", 0)
        if n:
            samples.append((now, rss_sum, main_rss, pss_sum))
            if rss_sum > peak_sum:
                peak_sum, peak_sum_at = rss_sum, now
            peak_pss = max(peak_pss, pss_sum)
            peak_n = max(peak_n, n)
        time.sleep(interval)
    wall = time.perf_counter() - t0
    returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = returncode
    largest = max(procs.values(), key=lambda i: i["vmhwm_kib"], default=None)
    return {
        "returncode": returncode,
        "wall_s": wall,
        "cpu_s_main": usage.ru_utime + usage.ru_stime,
        "polls": len(samples),
        "processes_seen": len(procs),
        "processes_at_once": peak_n,
        "peak_tree_rss_kib": peak_sum,
        "peak_tree_rss_at_s": round(peak_sum_at, 1),
        "peak_tree_pss_kib": peak_pss,
        "sum_of_vmhwm_kib": sum(i["vmhwm_kib"] for i in procs.values()),
        "largest_vmhwm_kib": largest["vmhwm_kib"] if largest else 0,
        "largest_vmhwm_role": largest["role"] if largest else None,
        "ru_maxrss_kib": usage.ru_maxrss,  # KiB on Linux; max over main and its reaped children
        "processes": {
            str(p): {
                **{k: v for k, v in i.items() if k != "curve"},
                "rss_curve": _downsample(i["curve"], 30),
            }
            for p, i in procs.items()
        },
        "rss_samples": _downsample(samples, 60),
        "stderr": b"".join(stderr_chunks).decode("utf-8", "replace").strip(),
    }


def _downsample(samples: list[tuple[float, ...]], n: int) -> list[tuple[float, ...]]:
    """About ``n`` evenly spaced ``(seconds, KiB, ...)`` samples, plus the one with the largest
    first KiB value, as ``(seconds, MiB, ...)``: a look at the curve."""
    if not samples:
        return []
    step = max(1, len(samples) // n)
    keep = set(range(0, len(samples), step)) | {len(samples) - 1}
    keep.add(max(range(len(samples)), key=lambda i: samples[i][1]))
    return [
        (round(sample[0], 1), *(round(kib / 1024, 1) for kib in sample[1:]))
        for sample in (samples[i] for i in sorted(keep))
    ]


# ---------------------------------------------------------------------------------------------
# The commands


def command(name: str, big: Path, workdir: Path, jobs: int) -> tuple[list[str], Path]:
    """The command line for ``name`` and the output file to check."""
    tag = f"{name}-j{jobs}"
    if name == "scan":
        out = workdir / f"{tag}.parquet"
        return [*langaudit_command(), "scan", str(big), "-o", str(out), "--jobs", str(jobs)], out
    if name == "audit":
        out = workdir / f"{tag}.json"
        cmd = [*langaudit_command(), "audit", str(big), "--json", str(out), "--jobs", str(jobs)]
        return cmd, out
    # check writes its report to stdout, which measure() saves to this file
    return [*langaudit_command(), "check", str(big), "--jobs", str(jobs)], workdir / f"{tag}.stdout"


def count_output(name: str, out: Path, stdout: Path) -> int:
    """Records the command says it processed: Parquet rows, the audit's ``records``, check's
    summary line."""
    if name == "scan":
        import pyarrow.parquet as pq

        return pq.ParquetFile(out).metadata.num_rows
    if name == "audit":
        report = json.loads(out.read_text(encoding="utf-8"))
        return int(report["records"]) + int(report.get("skipped", 0))
    last = stdout.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
    found = re.search(r"\(\d+ files?, ([\d,]+) records?\)", last[0] if last else "")
    if not found:
        raise SystemExit(f"bench_memory: no record count in check's last line: {last}")
    return int(found.group(1).replace(",", ""))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('s') else 's'}"


def _mb(kib: int) -> str:
    return f"{kib * 1024 / 1e6:,.0f} MB"


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="input size in GiB (default 2.0)")
    parser.add_argument(
        "--commands",
        nargs="+",
        choices=COMMANDS,
        default=["scan", "audit"],
        help="the commands to measure (default: scan audit)",
    )
    parser.add_argument(
        "--jobs",
        nargs="+",
        type=int,
        default=[1, 2],
        help="--jobs values to measure each command with (default: 1 2)",
    )
    parser.add_argument(
        "--cpu",
        type=int,
        default=None,
        help="pin the --jobs 1 runs to this CPU (runs with more jobs are never pinned)",
    )
    parser.add_argument("--interval", type=float, default=0.05, help="polling interval (s)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="the real ShareGPT JSONL to repeat (default: %(default)s)",
    )
    parser.add_argument(
        "--tmpdir", type=Path, default=None, help="parent of the temporary directory"
    )
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="run the live langaudit package instead of a copy taken at start",
    )
    args = parser.parse_args(argv)

    source = args.source.resolve()
    if not source.is_file():
        print(
            f"bench_memory: the real ShareGPT sample is missing: {source}\n"
            f"  expected ../shared/data/medicalgpt/sharegpt_zh_1K_format.jsonl next to the "
            f"repository ({REPO_ROOT}); pass --source PATH to use another ShareGPT JSONL",
            file=sys.stderr,
        )
        return 2
    if args.gb <= 0:
        parser.error("--gb must be positive")
    if any(j < 1 for j in args.jobs):
        parser.error("--jobs must be >= 1")
    if not Path("/proc/self/status").is_file():
        parser.error("bench_memory needs /proc (Linux) to follow the process tree")
    commands = list(dict.fromkeys(args.commands))
    jobs_list = list(dict.fromkeys(args.jobs))
    workdir = Path(tempfile.mkdtemp(prefix="langaudit-bench-memory-", dir=args.tmpdir))
    if workdir.resolve().is_relative_to(REPO_ROOT):
        shutil.rmtree(workdir)
        parser.error("--tmpdir must be outside the repository")
    runs: list[dict[str, Any]] = []
    try:
        big = workdir / "big.jsonl"
        log(f"writing >= {args.gb} GiB to {big}")
        data = build_data(source, big, int(args.gb * (1 << 30)))
        log(
            f"{data['bytes'] / 1e9:.2f} GB ({data['bytes'] / MIB:,.0f} MiB), "
            f"{data['records']:,} records ({data['long_records']} long, the longest "
            f"{data['longest_record_bytes'] / MIB:.1f} MiB)"
        )
        code = None if args.no_snapshot else snapshot_langaudit(workdir, "bench_memory")
        env = child_env(code["pythonpath"] if code else None)
        if code:
            log(f"langaudit snapshot {code['sha256']} of {code['package']} ({code['git']})")
        for name in commands:
            for jobs in jobs_list:
                cmd, out = command(name, big, workdir, jobs)
                stdout = workdir / f"{name}-j{jobs}.stdout"
                cpu = args.cpu if jobs == 1 else None
                # the command line as a user would type it, the temporary paths as file names
                argv = ["langaudit"] + [
                    Path(c).name if c.startswith(str(workdir)) else c
                    for c in cmd[len(langaudit_command()) :]
                ]
                pinned = f" (pinned to CPU {cpu})" if cpu is not None else ""
                log(f"running: {' '.join(argv)}{pinned}")
                result = measure(cmd, env, cpu, args.interval, stdout)
                if result["returncode"] not in ((0, 1) if name == "check" else (0,)):
                    raise SystemExit(
                        f"bench_memory: {name} --jobs {jobs} exited {result['returncode']}:\n"
                        f"{result['stderr'][-4000:]}"
                    )
                records = count_output(name, out, stdout)
                if records != data["records"]:
                    raise SystemExit(
                        f"bench_memory: {name} --jobs {jobs} saw {records:,} records of "
                        f"{data['records']:,}"
                    )
                result.update(
                    command=name,
                    jobs=jobs,
                    pinned_cpu=cpu,
                    argv=argv,
                    records_checked=records,
                    output_bytes=out.stat().st_size if out.exists() else None,
                    stdout_bytes=stdout.stat().st_size,
                    met=result["peak_tree_rss_kib"] * 1024 / 1e6 <= TARGET_MB,
                    met_by_sum_of_vmhwm=result["sum_of_vmhwm_kib"] * 1024 / 1e6 <= TARGET_MB,
                )
                runs.append(result)
                log(
                    f"  {result['wall_s']:.1f} s, tree RSS peak "
                    f"{_mb(result['peak_tree_rss_kib'])} "
                    f"({_n(result['processes_at_once'], 'process')}), largest VmHWM "
                    f"{_mb(result['largest_vmhwm_kib'])}"
                )
                out.unlink(missing_ok=True)
                stdout.unlink(missing_ok=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"temporary files removed ({workdir})")

    size = f"{data['bytes'] / 1e9:.2f} GB"
    lines = [
        "| input | records | command | jobs | wall s | records/s | peak tree RSS (sum) "
        "| largest process (VmHWM) | main ru_maxrss | <= 500 MB |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(
            f"| {size} JSONL | {data['records']:,} | {r['command']} | {r['jobs']} | "
            f"{r['wall_s']:.1f} | {data['records'] / r['wall_s']:,.0f} | "
            f"**{_mb(r['peak_tree_rss_kib'])}** ({_n(r['processes_at_once'], 'process')}) | "
            f"{_mb(r['largest_vmhwm_kib'])} ({r['largest_vmhwm_role']}) | "
            f"{_mb(r['ru_maxrss_kib'])} | {'yes' if r['met'] else '**NO**'} |"
        )
    table = "\n".join(lines)
    print(table)
    extra = "\n".join(
        [
            "| command | jobs | sum of VmHWM (upper bound) | peak tree PSS (sum) "
            "| per process VmHWM |",
            "|---|---:|---:|---:|---|",
            *(
                f"| {r['command']} | {r['jobs']} | {_mb(r['sum_of_vmhwm_kib'])} | "
                f"{_mb(r['peak_tree_pss_kib'])} | "
                + ", ".join(
                    f"{i['role']} {_mb(i['vmhwm_kib'])}"
                    for i in sorted(r["processes"].values(), key=lambda i: -i["vmhwm_kib"])
                )
                + " |"
                for r in runs
            ),
        ]
    )
    print()
    print(extra)
    notes = [
        f"Input: {data['bytes']:,} bytes ({data['bytes'] / MIB:,.0f} MiB), {data['passes']} "
        f"passes over {source.name} plus {data['long_records']} long records (longest "
        f"{data['longest_record_bytes'] / 1e6:.1f} MB on one line). MB = 10^6 bytes.",
        "Peak tree RSS: the largest sum of VmRSS over the command and all its descendants "
        f"(/proc/<pid>/task/*/children), polled every {args.interval} s; it counts shared "
        "pages (libraries) once per process, so it overstates a little (PSS, which splits them, "
        "is shown apart). Sum of VmHWM adds each process's own peak, which polling cannot "
        "miss: an upper bound, as the peaks need not coincide.",
        "ru_maxrss (os.wait4 on the command) is a per-process maximum, not a sum: Linux "
        "reports the larger of the main process's own peak and its largest reaped child's.",
        "With --jobs J > 1 the tree is the reading process (which reads and collects), J "
        "spawn-started workers and multiprocessing's resource tracker; with --jobs 1 it is a "
        "single process"
        + (f" (pinned to CPU {args.cpu})" if args.cpu is not None else "")
        + "; runs with more jobs are not pinned (their workers need the other cores).",
    ]
    for note in notes:
        print(f"- {note}")
    if args.json:
        report = {
            "benchmark": "bench_memory",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "pinned_cpu_jobs_1": args.cpu,
                "platform": platform.platform(),
                "python": platform.python_version(),
            },
            "source": str(source),
            "langaudit": code and {k: v for k, v in code.items() if k != "pythonpath"},
            "data": data,
            "target_mb": TARGET_MB,
            "interval_s": args.interval,
            "met": all(r["met"] for r in runs),
            "runs": [
                {
                    **{k: v for k, v in r.items() if k != "stderr"},
                    "peak_tree_rss_mb": r["peak_tree_rss_kib"] * 1024 / 1e6,
                    "largest_vmhwm_mb": r["largest_vmhwm_kib"] * 1024 / 1e6,
                    "summary": r["stderr"].splitlines()[-1:],
                }
                for r in runs
            ],
            "rss_samples_columns": ["s", "tree_rss_mib", "main_rss_mib", "tree_pss_mib"],
            "notes": notes,
            "markdown": table + "\n\n" + extra,
        }
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        log(f"results written to {args.json}")
    return 0 if all(r["met"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
