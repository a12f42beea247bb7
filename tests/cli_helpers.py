"""Shared by the CLI tests: invoke the CLI and fail on any traceback."""

from __future__ import annotations

import traceback

import pytest
from click.testing import CliRunner, Result

from langaudit.cli import cli


def run(*args: str) -> Result:
    """Invoke the CLI; any exception other than a clean exit is a bug, shown with its traceback."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        pytest.fail("".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.output
    return result


def modules_after(args: list[str], modules: tuple[str, ...], cwd: str | None = None) -> list[str]:
    """Run ``langaudit ARGS`` in a fresh interpreter: its exit code, then which of ``modules``
    it imported."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        f"sys.argv = ['langaudit', *{args!r}]\n"
        "from langaudit.cli import main\n"
        "code = main()\n"
        f"print(code, *[m for m in {modules!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd
    )
    return done.stdout.splitlines()[-1].split()
