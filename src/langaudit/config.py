"""The one configuration object every entry point (library, CLI, hook) shares."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UsageError
from .formats import FORMATS

ON_ERROR = ("raise", "skip")


@dataclass(frozen=True)
class AuditConfig:
    """How records are read and scanned.

    format:
        Record shape, one of ``alpaca``, ``sharegpt``, ``messages``, ``pairs``, ``preference``;
        ``None`` detects it from each source's first record.
    prompt_field, response_field:
        Dotted paths (``data.question``) of the prompt and response text; together they select
        the ``pairs`` shape for records that no built-in shape recognises.
    system_field:
        Dotted path of a system prompt, for any shape.
    on_error:
        ``raise`` (default) stops at the first unreadable record with its file, line and field;
        ``skip`` skips such records and counts them (see :class:`langaudit.ScanResult`).
    batch_records, batch_chars:
        Records are annotated in batches of at most this many records or characters of text,
        which bounds memory whatever the input size.
    """

    format: str | None = None
    prompt_field: str | None = None
    response_field: str | None = None
    system_field: str | None = None
    on_error: str = "raise"
    batch_records: int = 2048
    batch_chars: int = 4_000_000

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise UsageError(
                f"unknown format {self.format!r}", f"choose one of: {', '.join(FORMATS)}"
            )
        if self.on_error not in ON_ERROR:
            raise UsageError(
                f"on_error must be one of {', '.join(ON_ERROR)}, not {self.on_error!r}"
            )
        if self.batch_records < 1 or self.batch_chars < 1:
            raise UsageError("batch sizes must be positive")

    @classmethod
    def from_options(cls, config: AuditConfig | None = None, **options: Any) -> AuditConfig:
        """A config from keyword options (``None`` values ignored), on top of ``config``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(
                f"unknown option(s): {', '.join(unknown)}",
                f"known options: {', '.join(sorted(known))}",
            )
        given = {k: v for k, v in options.items() if v is not None}
        return replace(config or cls(), **given)
