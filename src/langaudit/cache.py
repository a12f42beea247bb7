"""A disk cache for the tables langaudit derives from its dependencies' data on start-up.

The English lexicon (parsed from pyspellchecker's 2.7 MB JSON), the hashes of its words and
the script class of every code point take ~0.3 s to build: most of the run time of
``langaudit check`` on a small file in a pre-commit hook. They are saved as NumPy files in
``$LANGAUDIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/langaudit`` or ``~/.cache/langaudit``;
empty to turn the cache off), under a key that changes with langaudit's code, Python's Unicode
database and the data files they come from. A cache that cannot be read or written is rebuilt
or skipped: it never changes a result.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

Arrays = dict[str, np.ndarray]


def cache_dir() -> Path | None:
    """Where the cache lives, None when it is turned off."""
    configured = os.environ.get("LANGAUDIT_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "langaudit"


def cached(name: str, build: Callable[[], Arrays], data_files: Iterable[Path] = ()) -> Arrays:
    """The arrays ``build`` returns, from the cache when they were built before from the same
    code and ``data_files``."""
    folder = cache_dir()
    if folder is None:
        return build()
    path = folder / f"{name}-{_key(tuple(data_files))}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    except Exception:  # missing, truncated, corrupt (BadZipFile, ...): rebuild it
        pass
    arrays = build()
    _store(path, arrays)
    return arrays


def cached_words(
    name: str, build: Callable[[], Iterable[str]], data_files: Iterable[Path] = ()
) -> list[str]:
    """:func:`cached` for a list of words (without newlines)."""

    def arrays() -> Arrays:
        return {"words": np.frombuffer("\n".join(build()).encode(), np.uint8)}

    joined = cached(name, arrays, data_files)["words"].tobytes().decode()
    return joined.split("\n") if joined else []


def _store(path: Path, arrays: Arrays) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in path.parent.glob(prefix + "*.npz"):  # entries of older code or data
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or full disk: work without the cache


@lru_cache(maxsize=8)
def _key(data_files: tuple[Path, ...]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(unicodedata.unidata_version.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for data in data_files:
        stat = data.stat()
        digest.update(f"{data}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
