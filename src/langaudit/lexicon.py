"""Word lists: an English frequency lexicon, and terms that are not English words in context.

The lexicon is pyspellchecker's English word-frequency dictionary (MIT), loaded on first use;
the term lists are the project's own: tool and product names written in lower case in Chinese
technical text, jargon commonly left untranslated, units.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from .errors import MissingDependencyError

#: Lowercase words at least this frequent in the English lexicon count as English words; words
#: of up to three letters are often abbreviations or pinyin (mon, du, mu) and need far more.
MIN_ENGLISH_FREQUENCY = 200
MIN_SHORT_WORD_FREQUENCY = 20_000

# Written lowercase in Chinese technical text and never meant as English words.
_TECH_NAMES_WORDS = """
pip npm yarn pnpm conda git svn numpy pandas scipy sklearn torch pytorch tensorflow keras jax
jupyter matplotlib seaborn plotly flask django fastapi react vue angular nodejs node deno linux
ubuntu debian centos macos windows docker kubernetes kubectl helm nginx apache redis mysql
postgres postgresql mongodb sqlite elasticsearch kafka spark hadoop hive bash zsh sudo ssh curl
wget vim emacs vscode python java javascript typescript golang go rust ruby php perl scala
kotlin swift html css json yaml toml xml csv sql http https tcp udp ip dns url api sdk cli gui
gpu cpu github gitlab huggingface transformers bert gpt llama qwen glm chatgpt openai excel ppt
pdf markdown latex wechat qq ios android iphone ipad mac macbook youtube tiktok wifi usb html5
css3 regex unicode utf ascii lora qlora sft rlhf dpo ppo llm nlp cv ai ml dl cnn rnn lstm gan
vae tokenizer utf-8 cuda onnx tensorrt true false null nil undefined nan root admin pickle vllm
deepspeed accelerate peft ollama langchain
"""
TECH_NAMES = frozenset(_TECH_NAMES_WORDS.split())

# Jargon commonly left untranslated in Chinese writing: benign unless strict.
_JARGON_WORDS = """
benchmark benchmarks baseline baselines repo repos token tokens prompt prompts embedding
embeddings finetune fine-tune fine-tuning finetuning checkpoint checkpoints batch batches epoch
epochs loss dropout layer layers attention encoder decoder pipeline pipelines dataset datasets
debug bug bugs commit commits branch merge deploy server client cache cookie cookies session
backend frontend framework package packages module modules library plugin plugins app apps web
online offline email blog vlog demo feature features issue issues release query index log logs
script scripts shell terminal kernel thread threads runtime build compile container containers
cluster node pod workflow dashboard template tag tags label labels layout ui ux star fork pull
push patch tensor tensors logits softmax inference training pretrain pretraining agent agents
copilot chatbot bot bots hook hooks promise promises callback callbacks props state component
components render endpoint endpoints router middleware schema field fields array list dict map
key value string float boolean object class method function functions variable variables
parameter parameters argument arguments loop exception handler event events listener listeners
request response header headers payload hashtag hashtags
"""
JARGON = frozenset(_JARGON_WORDS.split())

_UNITS_WORDS = """
kg g mg ug μg t lb lbs oz ml l dl cl m cm mm km nm um μm mi ft in yd s ms us ns min h hr hrs hz
khz mhz ghz b kb mb gb tb pb kib mib gib bps kbps mbps gbps px pt em rem dpi fps mah wh kwh w
kw mw v mv a ma ω k c f cal kcal j kj pa kpa mpa atm bar mol mmol x
bit bits byte bytes core cores
"""
UNITS = frozenset(_UNITS_WORDS.split())


@lru_cache(maxsize=1)
def english_lexicon() -> dict[str, int]:
    """Words of pyspellchecker's English frequency list that occur at least
    MIN_ENGLISH_FREQUENCY times, with their counts (the rarer ones are never used)."""
    import numpy as np

    from .cache import cached

    source = _lexicon_file()

    def build() -> dict[str, np.ndarray]:
        lexicon = _read_lexicon(source)
        words = "\n".join(lexicon).encode()
        return {
            "words": np.frombuffer(words, np.uint8),
            "counts": np.fromiter(lexicon.values(), np.int64, len(lexicon)),
        }

    arrays = cached("lexicon", build, [source])
    words = arrays["words"].tobytes().decode().split("\n")
    return dict(zip(words, arrays["counts"].tolist(), strict=True))


def _lexicon_file() -> Path:
    spec = find_spec("spellchecker")
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            "the English lexicon is missing", hint="pip install pyspellchecker"
        )
    return Path(spec.origin).parent / "resources" / "en.json.gz"


def _read_lexicon(path: Path) -> dict[str, int]:
    raw = gzip.decompress(path.read_bytes())
    # One pass of a regex over the JSON text, keeping only counts of three digits or more,
    # takes a third of the time of parsing all 160,000 entries; a format it does not expect
    # falls back to the JSON parser.
    pairs = _FREQUENT_ENTRY.findall(raw)
    if len(pairs) < 1000:
        full: dict[str, int] = json.loads(raw)
        return {w: c for w, c in full.items() if c >= MIN_ENGLISH_FREQUENCY}
    return {word.decode(): int(count) for word, count in pairs}


# "word": count with count >= 200 (MIN_ENGLISH_FREQUENCY; a test checks the two agree)
_FREQUENT_ENTRY = re.compile(rb'"([^"\\]*)": ([2-9][0-9]{2}|[1-9][0-9]{3,})[,}\s]')


# Jargon of several words, benign like JARGON (the words alone may be ordinary English).
JARGON_PHRASES = (
    "batch size",
    "learning rate",
    "weight decay",
    "data loader",
    "pull request",
    "merge request",
    "code review",
    "unit test",
    "hidden size",
    "context window",
    "few shot",
    "zero shot",
    "chain of thought",
    "system prompt",
    "user prompt",
    "open source",
    "deep learning",
    "machine learning",
    "loss function",
    "activation function",
    "hot reload",
    "dark mode",
)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Ordinary English words: frequent enough in the lexicon, and not tool names."""
    from .cache import cached_words

    def build() -> list[str]:
        return [
            word
            for word, count in english_lexicon().items()
            if count >= (MIN_SHORT_WORD_FREQUENCY if len(word) <= 3 else MIN_ENGLISH_FREQUENCY)
            and word not in TECH_NAMES
        ]

    return frozenset(cached_words("english_words", build, [_lexicon_file()]))


def is_english_word(low: str) -> bool:
    """A lower-cased token that is an ordinary English word (not a tool name, frequent enough)."""
    return low in english_words()
