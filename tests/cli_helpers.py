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
