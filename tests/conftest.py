"""Session-wide test settings."""

from __future__ import annotations

import os
import tempfile


def pytest_configure() -> None:
    # langaudit's start-up cache (langaudit.cache) goes to a temporary folder, not ~/.cache;
    # subprocesses (CLI runs, pre-commit hooks) inherit it.
    if "LANGAUDIT_CACHE_DIR" not in os.environ:
        os.environ["LANGAUDIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="langaudit-cache-")
