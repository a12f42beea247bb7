"""Exceptions raised by langaudit.

Every error that is the user's to fix (a bad file, a bad record, a bad option) is a
:class:`LangauditError`; the CLI prints its message and exits with code 2, never a traceback.
"""

from __future__ import annotations

from typing import Any


class LangauditError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(LangauditError):
    """An option or argument that cannot work (unknown format, output path equals input, ...)."""


class InputError(LangauditError):
    """A file or record that cannot be read.

    ``location`` is ``FILE:LINE`` for line-oriented files (JSONL, CSV) and ``FILE[INDEX]`` for
    record positions in arrays and tables; ``field`` is the dotted path inside the record.
    """

    def __init__(
        self,
        location: str,
        problem: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        raw: bytes | None = None,
    ) -> None:
        where = f"{location}: field '{field}': " if field else f"{location}: "
        super().__init__(where + problem, hint)
        self.location = location
        self.field = field
        self.problem = problem
        self.raw = raw

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled (from worker processes) by its arguments, which differ from Exception.args
        arguments = {"field": self.field, "hint": self.hint, "raw": self.raw}
        return _rebuild, (type(self), (self.location, self.problem), arguments)


def _rebuild(cls: type[InputError], args: tuple[str, str], kwargs: dict[str, Any]) -> InputError:
    return cls(*args, **kwargs)


class RecordShapeError(InputError):
    """A record whose shape (Alpaca, ShareGPT, messages, ...) cannot be recognised or is broken."""


class MissingDependencyError(LangauditError, ImportError):
    """An optional dependency is needed for the requested feature."""
