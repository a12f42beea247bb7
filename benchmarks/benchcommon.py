"""Shared by the benchmarks: CPU pinning, a frozen copy of langaudit, how to run it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
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
