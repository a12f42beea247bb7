"""Code-switched spans: English words used in place of Chinese ones, and Chinese in English.

A Chinese response's Latin-script segments are split into tokens and each token is judged:
names, brands, acronyms, identifiers, units, glossed and quoted terms, terms the prompt used and
the user's glossary are benign; technical jargon commonly left untranslated and pinyin are benign
unless ``strict``; an ordinary English word (found in an English frequency lexicon) is evidence.
In an English response, Han runs are code-switched unless quoted, glossed, requested or the topic.
Only texts that contain the other script are searched.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .lexicon import (
    JARGON,
    JARGON_PHRASES,
    MIN_ENGLISH_FREQUENCY,
    TECH_NAMES,
    UNITS,
    english_lexicon,
    english_words,
    is_english_word,
)
from .scripts import LATIN, SHELL_OPTION, STRINGS_AND_COMMENTS, Span, class_table, word_hashes

_PINYIN_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|uai|iao|ian|uan|van|ai|ei|ao|ou|an|en|er|in|un|vn"
    r"|ia|ie|iu|ua|uo|ue|ve|ui|a|o|e|i|u|v)"
)
_PINYIN = re.compile(rf"(?:{_PINYIN_SYLLABLE}){{2,}}")
# A Latin segment: words joined by spaces, hyphens, apostrophes and sentence punctuation.
_SEGMENT = re.compile(
    r"(?<![A-Za-z0-9_\-'’./\\@#$%])[A-Za-z][A-Za-z0-9'’\-]*"
    r"(?:(?:[ \t]*[,.!?;:][ \t]+|[ \t]+)[A-Za-z0-9][A-Za-z0-9'’\-]*)*"
    r"[.!?]?"
)
_LOWER_RUN = re.compile(r"[a-z]+")
_FORMULA_NEXT = frozenset("₀₁₂₃₄₅₆₇₈₉ₙₘᵢⱼₖ⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ^_=(")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_HAN_RUN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，、]*"
)
_QUOTED = re.compile(
    r"“[^”\n]{1,120}”|‘[^’\n]{1,120}’|「[^」\n]{1,120}」|『[^』\n]{1,120}』|《[^》\n]{1,120}》"
    # the lookbehind follows the quote (no letter before it) so that every branch starts with a
    # literal, which lets the search skip to the next quote character
    r"|\"[^\"\n]{1,120}\"|'(?<![A-Za-z]')[^'\n]{1,120}'(?![A-Za-z])"
)
# Parentheses, and square brackets: placeholders of templates ([industry], [Your Name]) and
# the text of links
_PAREN = re.compile(r"[（(][^()（）\n]{1,120}[)）]|\[[^\[\]\n]{1,80}\]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MENTION_BEFORE = re.compile(
    r"(?i:character|characters|word|words|term|phrase|called|pinyin|written|chinese|means|"
    r"meaning|say|said|pronounced|spelled|name|named|idiom|saying|proverb|as in)\W{0,6}$"
)


@dataclass(frozen=True)
class SwitchSpan:
    start: int
    end: int
    text: str
    lang: str


def _blocked(
    text: str, masked: Sequence[Span], near: Sequence[int] | None = None
) -> tuple[list[int], list[int]]:
    """Regions never judged (code, URLs, e-mails, LaTeX, quotations, parentheses, square
    brackets), merged into disjoint sorted intervals: (starts, ends). Quotations and brackets
    never cross a line, so with ``near`` (sorted positions) only the lines holding them are
    searched for those."""
    lines = [(0, len(text))] if near is None else _lines_of(text, near)
    regions = sorted(
        [(start, end) for start, end, _ in masked]
        + [m.span() for lo, hi in lines for m in _QUOTED.finditer(text, lo, hi)]
        + [m.span() for lo, hi in lines for m in _PAREN.finditer(text, lo, hi)]
    )
    starts: list[int] = []
    ends: list[int] = []
    for start, end in regions:
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _lines_of(text: str, positions: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) of the distinct lines holding the sorted ``positions``."""
    lines: list[tuple[int, int]] = []
    for pos in positions:
        if lines and pos < lines[-1][1]:
            continue
        end = text.find("\n", pos)
        lines.append((text.rfind("\n", 0, pos) + 1, len(text) if end < 0 else end))
    return lines


def _inside(start: int, end: int, regions: tuple[list[int], list[int]]) -> bool:
    starts, ends = regions
    at = bisect.bisect_right(starts, start) - 1
    return at >= 0 and end <= ends[at]


def _glossed(text: str, end: int) -> bool:
    """A Latin term followed by its Chinese gloss in parentheses: overfitting（过拟合）."""
    rest = text[end : end + 40].lstrip()
    return bool(rest[:1] in "（(" and _HAN.search(rest[:40].split(")")[0].split("）")[0]))


@lru_cache(maxsize=64)
def _phrase_pattern(allowed: tuple[str, ...], strict: bool) -> re.Pattern[str] | None:
    """Allowed multi-word terms, and multi-word jargon unless strict, as one pattern."""
    phrases = [*allowed, *(() if strict else JARGON_PHRASES)]
    if not phrases:
        return None
    alternation = "|".join(map(re.escape, sorted(phrases, key=len, reverse=True)))
    return re.compile(rf"\b(?:{alternation})\b", re.IGNORECASE)


class _Judge:
    def __init__(self, allowed: Collection[str], prompt_words: Collection[str], strictness: str):
        self.allowed = {a.lower() for a in allowed}
        self.prompt_words = {w.lower() for w in prompt_words}
        self.strict = strictness == "strict"
        self.phrases = _phrase_pattern(
            tuple(sorted(a for a in self.allowed if " " in a)), self.strict
        )
        self._code_words: set[str] | None = None

    def code_words(self, text: str, masked: Sequence[Span]) -> set[str]:
        """The words of the text's code blocks, lowercased (found once, when first needed)."""
        if self._code_words is None:
            self._code_words = {
                t.lower()
                for start, end, kind in masked
                if kind == "code"
                for t in _TOKEN.findall(text, start, end)
            }
        return self._code_words

    def covered(self, segment: str) -> list[tuple[int, int]]:
        """Ranges of a segment taken by allowed phrases and multi-word jargon (batch size)."""
        return [m.span() for m in self.phrases.finditer(segment)] if self.phrases else []

    def english_word(self, token: str, after_number: bool, sentence: bool) -> bool:
        """Whether a token of a Latin segment in Chinese text is an ordinary English word."""
        low = token.lower()
        if len(token) == 1 or low in self.allowed or low in self.prompt_words or low in TECH_NAMES:
            return False  # single letters are variables and options (A 和 B, x, n)
        if any(c.isdigit() for c in token) or any(c.isupper() for c in token[1:]):
            return False  # acronyms, versions, CamelCase names
        if after_number and low in UNITS:
            return False
        if token[0].isupper() and not sentence:
            # names are written in Latin script; strict flags those the lexicon knows (Hawaii)
            return self.strict and english_lexicon().get(low, 0) >= MIN_ENGLISH_FREQUENCY
        if low in JARGON:
            return self.strict
        return is_english_word(low) or (self.strict and bool(_PINYIN.fullmatch(low)))


_CODE_SYNTAX = re.compile(
    r"[=;{}\[\]<>]|\w\(|\)\s*$|^\s*(?:def|class|import|from|return|if|elif|else|for|while|"
    r"try|except|with|print|var|let|const|function|public|private|static|void|int|SELECT|INSERT|"
    rf"UPDATE|CREATE|#include|@)\b|{SHELL_OPTION}"
)


def _code_line(text: str, pos: int) -> bool:
    """Whether the line around ``pos`` is code outside a code block: code syntax, and little
    Chinese outside its string literals and comments (machine-translated code has some)."""
    start = text.rfind("\n", max(0, pos - MAX_CODE_LINE), pos) + 1
    end = text.find("\n", pos, pos + MAX_CODE_LINE)
    if (start == 0 and pos > MAX_CODE_LINE) or (end < 0 and len(text) - pos > MAX_CODE_LINE):
        return False  # a line this long is prose
    line = text[start : end if end >= 0 else len(text)]
    bare = STRINGS_AND_COMMENTS.sub("", line)
    if not _CODE_SYNTAX.search(bare):
        return False
    return len(_HAN.findall(bare)) * 3 <= sum(c.isascii() and c.isalpha() for c in bare)


#: Lines longer than this are never taken for code (and are not scanned as such).
MAX_CODE_LINE = 500
_TITLE_SMALL_WORDS = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "with", "at", "by", "from", "vs"]
)


def _title(words: Sequence[str]) -> bool:
    """Several words in title case: a name (Talk to Transformer), not a phrase."""
    if len(words) < 2:
        return False
    small = [w for w in words if w.lower() in _TITLE_SMALL_WORDS and w.islower()]
    capitalised = [w for w in words if w[:1].isupper()]
    return len(capitalised) >= 2 and len(capitalised) + len(small) == len(words)


_SEGMENT_STOP = re.compile(r"[\n\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: How far around a candidate word its segment is looked for.
SEGMENT_WINDOW = 400


def _segments_around(text: str, positions: Sequence[int]) -> list[re.Match[str]]:
    """The Latin segments that contain the given positions, each once: segments cannot cross
    Chinese text or line ends, so only a short window around each position is searched."""
    found: list[re.Match[str]] = []
    done = -1
    for pos in positions:
        if pos < done:
            continue
        # the nearest stops before (searched in the reversed window) and after
        window = max(0, pos - SEGMENT_WINDOW)
        stop = _SEGMENT_STOP.search(text[window:pos][::-1])
        lo = pos - stop.start() if stop else window
        stop = _SEGMENT_STOP.search(text, pos, pos + SEGMENT_WINDOW)
        hi = stop.start() if stop else min(len(text), pos + SEGMENT_WINDOW)
        inside = positions[bisect.bisect_left(positions, lo) : bisect.bisect_left(positions, hi)]
        found.extend(
            m
            for m in _SEGMENT.finditer(text, lo, hi)
            if any(m.start() <= p < m.end() for p in inside)
        )
        done = hi
    return found


def english_in_chinese(
    text: str,
    masked: Sequence[Span],
    *,
    allowed: Collection[str] = (),
    prompt_words: Collection[str] | Callable[[], Collection[str]] = (),
    strictness: str = "default",
    words: Sequence[int] | None = None,
) -> list[SwitchSpan]:
    """English words and phrases used inside a Chinese text.

    ``prompt_words`` may be a function, called only when the text holds a candidate word.
    ``words`` are the starts of the lower-case words of :func:`vocabulary` outside ``masked``
    when already known (``Measured.word_at``); they are searched for here otherwise. Strict
    judging looks at every word instead.
    """
    # only segments holding a lower-case English word can be code-switched (outside strict)
    if strictness != "strict":
        if words is None:
            words = vocabulary_words(text, masked)
        if not len(words):
            return []  # no English word at all (most Chinese texts)
    if strictness == "strict":
        blocked = _blocked(text, masked)
        candidates = [
            m.start() for m in _TOKEN.finditer(text) if not _inside(m.start(), m.end(), blocked)
        ]
    else:
        assert words is not None
        blocked = _blocked(text, masked, words)
        candidates = [at for at in words if not _inside(at, _word_end(text, at), blocked)]
    if not candidates:
        return []  # most Chinese texts: Latin script only in names, acronyms, code and glosses
    if callable(prompt_words):
        prompt_words = prompt_words()
    judge = _Judge(allowed, prompt_words, strictness)
    spans = []
    for m in _segments_around(text, candidates):
        if _inside(m.start(), m.end(), blocked) or _glossed(text, m.end()):
            continue
        following = text[m.end() : m.end() + 1]
        if following in _FORMULA_NEXT or (following.isascii() and following.isalnum()):
            continue  # a variable in a formula (aₙ, na₁, x²) or an identifier (file.py)
        tokens = list(_TOKEN.finditer(m.group()))
        plain = [t.group() for t in tokens if not any(c.isdigit() for c in t.group())]
        if _title(plain):
            continue  # a name in title case: Talk to Transformer, The Great Gatsby
        sentence = len(plain) >= 3 and any(w.islower() for w in plain)
        after_number = text[max(0, m.start() - 8) : m.start()].rstrip()[-1:].isdigit()
        covered = judge.covered(m.group())
        hits = [
            t
            for t in tokens
            if judge.english_word(t.group(), after_number, sentence)
            and not any(a <= t.start() < b for a, b in covered)
        ]
        # identifiers of the response's own code blocks are not words where the prose names them
        hits = [t for t in hits if t.group().lower() not in judge.code_words(text, masked)]
        if not hits or (strictness == "lenient" and len(hits) < 2):
            continue
        if _code_line(text, m.start()):
            continue
        start, end = m.start() + hits[0].start(), m.start() + hits[-1].end()
        if sentence:
            start, end = m.start(), m.end()
        spans.append(SwitchSpan(start, end, text[start:end], "en"))
    return spans


@lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """Lower-case words that are evidence of English inside Chinese: frequent words of the
    English lexicon, less the jargon commonly left untranslated and single letters (variables
    and options: A 和 B, x)."""
    return frozenset(w for w in english_words() - JARGON if len(w) > 1)


@lru_cache(maxsize=1)
def vocabulary_hashes() -> np.ndarray:
    """:func:`vocabulary` for :func:`langaudit.scripts.measure` to find in a whole batch."""
    from .cache import cached
    from .lexicon import _lexicon_file

    def build() -> dict[str, np.ndarray]:
        return {"hashes": word_hashes(sorted(vocabulary()))}

    return cached("vocabulary", build, [_lexicon_file()])["hashes"]


def _word_end(text: str, start: int) -> int:
    m = _LOWER_RUN.match(text, start)
    return m.end() if m else start


@lru_cache(maxsize=1)
def _latin_runs() -> re.Pattern[str]:
    """Runs of the letters that scripts.LATIN classes (those with a capital or a letter outside
    ASCII are in no vocabulary)."""
    latin = np.flatnonzero(class_table() == LATIN)
    breaks = np.flatnonzero(np.diff(latin) != 1)
    firsts, lasts = latin[np.r_[0, breaks + 1]], latin[np.r_[breaks, len(latin) - 1]]
    ranges = "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in zip(firsts, lasts, strict=True))
    return re.compile(f"[{ranges}]+")


def vocabulary_words(text: str, masked: Sequence[Span] = ()) -> list[int]:
    """Starts of the words of :func:`vocabulary` in ``text`` outside ``masked`` (sorted and
    disjoint, as ``mask_spans`` gives them): whole runs of Latin letters, ended by anything
    else and by masked regions, that are all ASCII lower case ("café" is no "caf"). A set
    intersection first, since most Chinese texts hold none."""
    runs = _latin_runs()
    bounds = [0, *(edge for start, end, _ in masked for edge in (start, end)), len(text)]
    gaps = list(zip(bounds[::2], bounds[1::2], strict=True))
    found = vocabulary().intersection(
        itertools.chain.from_iterable(runs.findall(text, lo, hi) for lo, hi in gaps)
    )
    if not found:
        return []
    return [m.start() for lo, hi in gaps for m in runs.finditer(text, lo, hi) if m.group() in found]


def chinese_in_english(
    text: str,
    masked: Sequence[Span],
    *,
    allowed: Collection[str] = (),
    prompt_text: str = "",
    strictness: str = "default",
) -> list[SwitchSpan]:
    """Chinese words used inside an English text (not quoted, glossed, requested or the topic)."""
    blocked = _blocked(text, masked)
    spans = []
    for m in _HAN_RUN.finditer(text):
        run = m.group().rstrip("，、")
        end = m.start() + len(run)
        if _inside(m.start(), end, blocked) or run in prompt_text or run in allowed:
            continue
        if _MENTION_BEFORE.search(text[max(0, m.start() - 40) : m.start()]):
            continue
        if text[end : end + 3].lstrip()[:1] in ("(", "（"):
            continue  # glossed: 的 (de) - possessive particle
        spans.append(SwitchSpan(m.start(), end, run, "zh"))
    if strictness == "lenient" and sum(len(s.text) for s in spans) < 4:
        return []
    return spans


def latin_words(texts: Sequence[str]) -> set[str]:
    """The Latin-script words of some texts, lowercased (the prompt's own terms)."""
    return {t.lower() for text in texts for t in _TOKEN.findall(text)}
