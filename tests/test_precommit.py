"""The pre-commit hook, for real: ``pre-commit run --all-files`` in a temporary git repository
whose ``.pre-commit-config.yaml`` points at this repository (its path, its current commit).

pre-commit clones that commit and installs it with pip into its own environment, so the test
checks what is committed, not uncommitted edits; it needs git, and the package registries for
the dependencies (as CI has them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def record(instruction: str, output: str) -> str:
    return json.dumps(
        {"instruction": instruction, "input": "", "output": output}, ensure_ascii=False
    )


CLEAN = [
    record(
        "请介绍一下长城。", "长城是中国古代的军事防御工程，东起山海关，西至嘉峪关，全长两万多公里。"
    ),
    record("Name three primary colors.", "The three primary colors are red, blue and yellow."),
    record(
        "怎样泡一杯好茶？", "先用热水温杯，再放入茶叶，倒入八十度左右的水，等两三分钟就可以喝了。"
    ),
]
MISMATCHED = [
    CLEAN[0],
    record("What is the capital of France?", "巴黎是法国的首都，也是法国最大的城市。"),
    CLEAN[1],
    record(
        "如何学习编程？",
        "Start with one language, write small programs every day, and read other people's code.",
    ),
]


@pytest.fixture(scope="module")
def rev() -> str:
    try:
        return git(REPO, "rev-parse", "HEAD")
    except (subprocess.CalledProcessError, OSError):
        pytest.skip("not a git checkout: pre-commit needs a commit to install the hook from")


def test_the_hook_definition() -> None:
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    for line in (
        "- id: langaudit-check",
        "  entry: langaudit check",
        "  language: python",
        "  require_serial: true",
    ):
        assert line in text.splitlines()


def test_pre_commit_run_all_files(tmp_path: Path, rev: str) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    git(project, "init", "-q")
    git(project, "config", "user.email", "test@example.com")
    git(project, "config", "user.name", "test")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO.as_posix()}\n    rev: {rev}\n"
        "    hooks:\n      - id: langaudit-check\n        files: ^data/\n"
        # the datasets of the registry, as LLaMA-Factory reads them
        "      - id: langaudit-check\n        alias: langaudit-registry\n"
        "        name: langaudit registry\n        args: [--registry, data/dataset_info.json]\n"
        "        pass_filenames: false\n        files: ^data/\n",
        encoding="utf-8",
    )
    (project / "pyproject.toml").write_text(
        '[tool.langaudit]\nmax-rate = { punct_mismatch = 0.5 }\nzh-share = "0.3:0.9"\n',
        encoding="utf-8",
    )
    (project / "package.json").write_text('{"name": "not a dataset"}\n', encoding="utf-8")
    # a LLaMA-Factory registry beside the data: the hook's exclude leaves it out
    registry = {"train": {"file_name": "train.jsonl", "formatting": "alpaca"}}
    (project / "data" / "dataset_info.json").write_text(json.dumps(registry), encoding="utf-8")
    (project / "data" / "train.jsonl").write_text("\n".join(CLEAN) + "\n", encoding="utf-8")
    git(project, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
    }
    command = [sys.executable, "-m", "pre_commit", "run", "--all-files"]

    passed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "langaudit check" in passed.stdout and "Passed" in passed.stdout
    assert "langaudit registry" in passed.stdout
    assert "Failed" not in passed.stdout

    (project / "data" / "more.jsonl").write_text("\n".join(MISMATCHED) + "\n", encoding="utf-8")
    git(project, "add", ".")
    failed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = failed.stdout
    assert "Failed" in out and "exit code: 1" in out
    assert (
        "data/more.jsonl:2: lang_mismatch: answer in zh (1.00), expected en (the prompt's language)"
        in out.splitlines()
    )
    assert any(
        line.startswith("data/more.jsonl:4: lang_mismatch: answer in en")
        for line in out.splitlines()
    )
    assert "FAIL lang_mismatch (max count 0): data/more.jsonl 2 of 4 records (50%)" in out
    assert "data/train.jsonl:" not in out  # the clean file has nothing to report

    # the registry hook reads what the registry declares: more.jsonl once it is declared
    registry["more"] = {"file_name": "more.jsonl", "columns": {"prompt": "instruction",
                        "response": "output"}}  # fmt: skip
    (project / "data" / "dataset_info.json").write_text(json.dumps(registry), encoding="utf-8")
    git(project, "add", ".")
    failed = subprocess.run(
        [*command, "langaudit-registry"], cwd=project, env=env, capture_output=True, text=True
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "langaudit registry" in failed.stdout and "Failed" in failed.stdout
    assert "data/more.jsonl:2: lang_mismatch: answer in zh (1.00)" in failed.stdout
