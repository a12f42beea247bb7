"""The one configuration object every entry point (library, CLI, hook) shares."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import UsageError
from .formats import FORMATS

STRICTNESS = ("lenient", "default", "strict")
_CHINESE = {"zh", "zho", "chi", "cmn", "wuu", "yue"}
_VARIANTS = {
    "hans": "zh-Hans",
    "hant": "zh-Hant",
    "cn": "zh-Hans",
    "sg": "zh-Hans",
    "tw": "zh-Hant",
    "hk": "zh-Hant",
    "mo": "zh-Hant",
}


def normalise_lang(code: str) -> str:
    """``zh``, ``en``, ``zh-Hans``, ``zh-Hant`` ... from what a user may type (zh_TW, ZH-hans)."""
    base, _, region = code.strip().replace("_", "-").partition("-")
    base = base.lower()
    if base in _CHINESE:
        if not region:
            return "zh"
        if region.lower() in _VARIANTS:
            return _VARIANTS[region.lower()]
    elif base.isalpha() and 2 <= len(base) <= 3 and not region:
        return base
    raise UsageError(
        f"unknown language {code!r}", "use an ISO 639-1 code (zh, en, ja, ...) or zh-Hans / zh-Hant"
    )


ON_ERROR = ("raise", "skip")


@dataclass(frozen=True)
class ShareRange:
    """Bounds on the Chinese share of responses: ``0.6:0.9``, ``0.6:`` (at least), ``:0.9``
    (at most), or one share ``0.7``, which means that share to within 0.01 (what rebalancing
    by whole records can reach)."""

    low: float = 0.0
    high: float = 1.0
    target: float | None = None

    #: How far from a single target share still counts as on target.
    TOLERANCE = 0.01

    @classmethod
    def parse(cls, text: str) -> ShareRange:
        """A range from ``LOW:HIGH`` (either side may be left out), ``X`` or ``X%``."""
        raw = text.strip()
        try:
            if ":" not in raw:
                target = _share_value(raw)
                return cls(
                    max(0.0, target - cls.TOLERANCE), min(1.0, target + cls.TOLERANCE), target
                )
            low_text, _, high_text = raw.partition(":")
            low = _share_value(low_text) if low_text.strip() else 0.0
            high = _share_value(high_text) if high_text.strip() else 1.0
        except ValueError:
            raise UsageError(
                f"bad Chinese share {text!r}",
                "give LOW:HIGH between 0 and 1 (0.6:0.9, 0.6: or :0.9), or one share (0.7)",
            ) from None
        if low > high:
            raise UsageError(f"bad Chinese share {text!r}: {low:g} is above {high:g}")
        return cls(low, high)

    def holds(self, share: float) -> bool:
        return self.low <= share <= self.high

    def fix(self, share: float) -> float | None:
        """The share to rebalance to (the target, or the nearer bound), None when it holds."""
        if self.holds(share):
            return None
        if self.target is not None:
            return self.target
        return self.low if share < self.low else self.high

    def __str__(self) -> str:
        if self.target is not None:
            return f"{self.target:g}"
        low = f"{self.low:g}" if self.low > 0 else ""
        high = f"{self.high:g}" if self.high < 1 else ""
        return f"{low}:{high}"


def _share_value(text: str) -> float:
    raw = text.strip()
    value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


@dataclass(frozen=True)
class Rules:
    """The judging options of :class:`AuditConfig`, as the judge takes them."""

    expect: str | None = None
    strictness: str = "default"
    allow_terms: tuple[str, ...] = ()


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
    expect:
        The language responses should be in when no instruction or translation request in the
        record says otherwise (``zh``, ``en``, ``zh-Hans``, ``zh-Hant``, any ISO 639-1 code);
        overrides the language of the user's own words.
    strictness:
        ``lenient`` (a single stray word is not code-switching), ``default``, or ``strict``
        (jargon left untranslated, names with a Chinese form and pinyin are code-switching too).
    allow_terms:
        Terms never counted as code-switching (a glossary), case-insensitive.
    on_error:
        ``raise`` (default) stops at the first unreadable record with its file, line and field;
        ``skip`` skips such records and counts them (see :class:`langaudit.ScanResult`).
    batch_records, batch_chars:
        Records are annotated in batches of at most this many records or characters of text,
        which bounds memory whatever the input size.
    jobs:
        Worker processes annotating batches, each loading the model once, while this one
        reads and collects; the results keep the input's order. Workers start only for an
        input of more than ``batch_records`` records.
    shape:
        A fixed :class:`langaudit.formats.Shape` for every record, instead of one detected
        from the first record: set for the datasets of a registry (:mod:`langaudit.registry`),
        whose declaration says how training reads them.
    """

    format: str | None = None
    prompt_field: str | None = None
    response_field: str | None = None
    system_field: str | None = None
    expect: str | None = None
    strictness: str = "default"
    allow_terms: tuple[str, ...] = ()
    on_error: str = "raise"
    batch_records: int = 2048
    batch_chars: int = 4_000_000
    jobs: int = 1
    shape: Any = None

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
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise UsageError(f"jobs must be a whole number >= 1, not {self.jobs!r}")
        if self.strictness not in STRICTNESS:
            raise UsageError(
                f"strictness must be one of {', '.join(STRICTNESS)}, not {self.strictness!r}"
            )
        if self.expect is not None:
            object.__setattr__(self, "expect", normalise_lang(self.expect))
        if isinstance(self.allow_terms, str):
            raise UsageError("allow_terms must be a list of terms, not one string")
        object.__setattr__(
            self, "allow_terms", tuple(t.strip() for t in self.allow_terms if t.strip())
        )

    @property
    def rules(self) -> Rules:
        """The judging options, for :func:`langaudit.judge.judge`."""
        return Rules(self.expect, self.strictness, self.allow_terms)

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


def read_terms(path: str) -> tuple[str, ...]:
    """A glossary file: one term per line; blank lines and ``#`` comments ignored."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the glossary: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the glossary is not UTF-8") from None
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)
