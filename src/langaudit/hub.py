"""Hugging Face Hub datasets as inputs: ``hf:OWNER/NAME[:CONFIG][@SPLIT]``, streamed.

A Hub id is read with ``datasets.load_dataset(..., streaming=True)``: records arrive in Arrow
batches, so memory stays bounded, and none is written to disk. Without
``@SPLIT`` every split is a source of its own (``hf:OWNER/NAME@train``, ``...@test``), as the
splits of a local ``DatasetDict`` folder are. ``hf:`` followed by a local path (``hf:./DIR``,
``hf:/data/DIR``) reads a folder the way ``load_dataset`` does, configs and splits of its
README or ``data/`` layout included: a downloaded copy of a Hub dataset repository.

``datasets`` is imported only when such an input is read. Before a Hub id is loaded, one call
to the Hub's API (``HF_HUB_ETAG_TIMEOUT`` seconds, 10 by default, per try; huggingface_hub's
client tries twice) tells whether the Hub answers: ``load_dataset`` itself retries for minutes
(6.5 with a proxy that never answers, measured) before it gives up.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .errors import InputError, LangauditError, MissingDependencyError, UsageError
from .io import Item, Source

PREFIX = "hf:"
GRAMMAR = "hf:OWNER/NAME[:CONFIG][@SPLIT]"
_EXAMPLES = "e.g. hf:tatsu-lab/alpaca, hf:OWNER/NAME:default@train, or hf:./DIR for a local copy"
#: Records per Arrow batch read from a stream (what a first-N --limit may read past N).
BATCH_RECORDS = 1024
#: Seconds the Hub has to answer when no HF_HUB_ETAG_TIMEOUT is set (huggingface_hub's default).
DEFAULT_TIMEOUT = 10.0

# Hub repository names: letters, digits, '-', '_', '.', not starting or ending with '-' or '.'
_ID = r"(?![-.])[\w.-]{1,96}(?<![-.])"
_CONFIG = r"[\w.+-]+"
_SPLIT = r"\w+(?:\.\w+)*"  # as datasets names splits
_TAIL = rf"(?::(?P<config>{_CONFIG}))?(?:@(?P<split>{_SPLIT}))?"
_HUB_ID = re.compile(rf"(?P<path>{_ID}/{_ID}){_TAIL}")
_LOCAL = re.compile(rf"(?P<path>[./~].*?){_TAIL}")

_NETWORK_HINT = (
    "check the network (and HF_ENDPOINT, HTTPS_PROXY if set); a slow link may need a larger "
    "HF_HUB_ETAG_TIMEOUT; or download the dataset (hf download OWNER/NAME --repo-type dataset "
    "--local-dir DIR) and pass hf:./DIR or its files"
)
_OFFLINE_HINT = (
    "a Hub dataset is streamed over the network: unset HF_HUB_OFFLINE, or pass a downloaded "
    "copy (hf:./DIR, or its files)"
)
_NOT_FOUND_HINT = (
    "check OWNER/NAME on huggingface.co; a private dataset needs a token (HF_TOKEN, or "
    "hf auth login), a gated one also its conditions accepted on its page"
)

_FILES_HINT = (
    "pass the data files themselves (downloaded, for a Hub dataset), without hf:, to have the "
    "file and line named"
)
#: The messages of load_dataset's ValueErrors about a config or split the dataset lacks.
_WRONG_NAME = re.compile(r"\bsplit|config", re.IGNORECASE)
_NAME_HINTS = {
    "config": f"name one of its configs: {GRAMMAR}",
    "split": f"name one of its splits, or none to read every split: {GRAMMAR}",
}


def is_spec(path: Any) -> bool:
    """Whether an input names a Hub dataset (or a folder read as one): ``hf:...``."""
    return isinstance(path, str) and path.startswith(PREFIX)


@dataclass(frozen=True)
class HubSpec:
    """A parsed ``hf:`` input: the dataset (Hub id, or local folder), its config and split."""

    text: str
    path: str
    config: str | None = None
    split: str | None = None
    local: bool = False

    def source_name(self, split: str) -> str:
        """One split's source name, as it could be given: ``hf:OWNER/NAME[:CONFIG]@SPLIT``."""
        config = f":{self.config}" if self.config else ""
        return f"{PREFIX}{self.path}{config}@{split}"


def parse_spec(text: str) -> HubSpec:
    """``hf:OWNER/NAME[:CONFIG][@SPLIT]`` or ``hf:LOCAL_DIR[:CONFIG][@SPLIT]``, checked strictly."""
    body = text[len(PREFIX) :] if is_spec(text) else text
    if "[" in body:
        raise UsageError(
            f"{text}: split slices are not read here",
            "name the split (@train) and pass --limit N for the first N records, or "
            "--limit N --sample-seed S for a random sample",
        )
    local = body.startswith((".", "/", "~"))
    match = (_LOCAL if local else _HUB_ID).fullmatch(body)
    if match is None:
        raise UsageError(f"{text}: not a dataset id: expected {GRAMMAR}", _EXAMPLES)
    spec = HubSpec(text, match["path"], match["config"], match["split"], local)
    if local:
        _check_folder(spec)
    return spec


def _check_folder(spec: HubSpec) -> None:
    folder = Path(os.path.expanduser(spec.path))
    if not folder.is_dir():
        raise UsageError(
            f"{spec.text}: no such folder",
            "hf: takes OWNER/NAME on the Hub or a dataset folder (hf:./DIR); pass a data file "
            "without hf:",
        )
    if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
        raise UsageError(
            f"{spec.text}: a save_to_disk folder, which load_dataset does not read",
            f"pass it without hf: ({spec.path})",
        )


def settings_path(text: str | os.PathLike[str]) -> str:
    """Where the settings file of an ``hf:`` input is looked for: above a local folder, else
    in the current directory (a Hub dataset is not under any)."""
    spec = parse_spec(os.fspath(text))
    return os.path.expanduser(spec.path) if spec.local else os.curdir


def not_rewritable(text: str) -> UsageError:
    """The error of ``rewrite`` given an ``hf:`` input."""
    return UsageError(
        f"{text}: rewrite cannot write a Hub dataset: it writes a file in its input's format, "
        "and a stream has none",
        "download the dataset (hf download OWNER/NAME --repo-type dataset --local-dir DIR) and "
        "rewrite its data files, or save it with datasets (load_dataset(...).save_to_disk(DIR)) "
        "and rewrite DIR/train",
    )


# ---------------------------------------------------------------------------------------------
# Opening


def open_hub(text: str) -> list[Source]:
    """The sources of an ``hf:`` input: the split named, or one per split of the dataset."""
    spec = parse_spec(text)
    if not spec.local:
        check_reachable(spec)
    path = os.path.expanduser(spec.path) if spec.local else spec.path
    loaded = load_stream(path, spec.config, spec.split, name=text)
    if spec.split is not None:
        return [stream_source(spec.source_name(spec.split), loaded)]
    return [stream_source(spec.source_name(split), ds) for split, ds in loaded.items()]


def load_stream(
    path: str,
    config: str | None = None,
    split: str | None = None,
    data_files: str | list[str] | None = None,
    *,
    name: str | None = None,
) -> Any:
    """``datasets.load_dataset(path, config, split=split, data_files=data_files,
    streaming=True)``: an IterableDataset, or with ``split`` None an IterableDatasetDict. The one
    call for Hub ids, local folders and (``path="json"``) files; what it raises becomes an
    error naming ``name`` (default: ``path``) with a hint."""
    datasets = _datasets()
    try:
        return datasets.load_dataset(
            path, config, split=split, data_files=data_files, streaming=True
        )
    except Exception as exc:  # datasets raises a zoo of types; every one is about this input
        raise load_error(name or path, exc) from None


def check_reachable(spec: HubSpec) -> None:
    """Ask the Hub about the dataset once, within the timeout: no answer, no such dataset or
    offline mode fail here, in seconds."""
    _check_environment()
    from huggingface_hub import HfApi

    try:
        HfApi().dataset_info(spec.path, timeout=timeout())
    except Exception as exc:
        raise load_error(spec.text, exc) from None


def timeout() -> float:
    """Seconds the Hub has to answer: ``HF_HUB_ETAG_TIMEOUT``, as for huggingface_hub's own
    metadata requests."""
    try:
        value = float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _datasets() -> Any:
    _check_environment()
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError(
            f"reading hf: inputs needs datasets ({exc})", "pip install datasets"
        ) from None
    return datasets


def _check_environment() -> None:
    """huggingface_hub reads its timeouts as whole seconds when imported, and fails there on
    anything else: say which variable is wrong instead."""
    for variable in ("HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        value = os.environ.get(variable)
        try:
            if value is not None:
                int(value)
        except ValueError:
            raise UsageError(
                f"{variable}={value!r}: expected whole seconds", f"e.g. {variable}=10"
            ) from None


# ---------------------------------------------------------------------------------------------
# Reading


def stream_source(name: str, dataset: Any) -> Source:
    """A source over an IterableDataset, read in Arrow batches."""
    return Source(name, "hub", stream_items(dataset, name))


def stream_items(dataset: Any, name: str) -> Iterator[Item]:
    """The records of an IterableDataset as items indexed from 0; a stream that breaks off is
    an input error saying where."""
    index = 0
    try:
        for record in _records(dataset):
            yield Item(index, None, record)
            index += 1
    except LangauditError:
        raise
    except Exception as exc:  # from datasets, its file systems and readers
        raise read_error(name, index, exc) from None


def _records(dataset: Any) -> Iterator[dict[str, Any]]:
    """Records from Arrow batches: 5x faster than iterating the dataset, and images or audio
    are not decoded; ``Json`` features (what datasets makes of fields of mixed types, such as
    message contents that are strings or lists of parts) are."""
    try:
        batches: Iterable[Any] = dataset.with_format("arrow").iter(batch_size=BATCH_RECORDS)
    except (AttributeError, ValueError, NotImplementedError):  # a datasets without Arrow streams
        yield from dataset
        return
    decode = _json_decoder(dataset.features) if dataset.features is not None else None
    for batch in batches:
        rows = batch.to_pylist()
        yield from rows if decode is None else map(decode, rows)


def _json_decoder(feature: Any) -> Callable[[Any], Any] | None:
    """What decodes the ``Json`` values inside values of ``feature`` (None: there are none)."""
    if type(feature).__name__ == "Json":
        return lambda value: orjson.loads(value) if isinstance(value, str | bytes) else value
    if isinstance(feature, dict):  # Features, and structs
        fields = {k: d for k, f in feature.items() if (d := _json_decoder(f)) is not None}
        if not fields:
            return None
        return lambda value: (
            value
            if not isinstance(value, dict)
            else {k: fields[k](v) if k in fields else v for k, v in value.items()}
        )
    inner = getattr(feature, "feature", None)  # List, LargeList, Sequence
    element = _json_decoder(inner) if inner is not None else None
    if element is None:
        return None
    return lambda value: [element(v) for v in value] if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# Errors


def load_error(name: str, exc: BaseException) -> LangauditError:
    """The error for a dataset that cannot be opened: unreachable, offline, missing, a bad
    config or split, no data files."""
    chain = _chain(exc)
    kinds = {cls.__name__ for error in chain for cls in type(error).__mro__}
    if "OfflineModeIsEnabled" in kinds:
        return InputError(name, "HF_HUB_OFFLINE is set (offline mode)", hint=_OFFLINE_HINT)
    if _is_network(chain):
        waited = f"no answer within {timeout():g} s (HF_HUB_ETAG_TIMEOUT)"
        problem = f"cannot reach the Hub: {_network_detail(chain, waited)}"
        return InputError(name, problem, hint=_NETWORK_HINT)
    if "GatedRepoError" in kinds:
        return InputError(name, "the dataset is gated", hint=_NOT_FOUND_HINT)
    if kinds & {"RepositoryNotFoundError", "DatasetNotFoundError"}:
        return InputError(
            name, "no such dataset on the Hub (or it is private)", hint=_NOT_FOUND_HINT
        )
    if kinds & {"DataFilesNotFoundError", "EmptyDatasetError", "FileNotFoundError"}:
        return InputError(name, f"no data files: {_message(exc)}")
    message = _message(exc)
    wrong = _WRONG_NAME.search(message) if isinstance(exc, ValueError) else None
    if wrong is not None:  # a config or split the dataset does not have
        what = "config" if wrong[0].lower().endswith("config") else "split"
        return UsageError(f"{name}: {message}", _NAME_HINTS[what])
    return InputError(name, f"cannot load the dataset: {message}", hint=_FILES_HINT)


def read_error(name: str, records: int, exc: BaseException) -> InputError:
    """The error for a stream that breaks off after ``records`` records (read in batches, so
    the record at fault is one of the next batch's)."""
    chain = _chain(exc)
    after = f"after {records:,} record{'' if records == 1 else 's'}"
    if _is_network(chain):
        waited = "a read timed out (HF_HUB_DOWNLOAD_TIMEOUT)"
        problem = f"the stream broke off {after}: {_network_detail(chain, waited)}"
        return InputError(name, problem, hint=_NETWORK_HINT)
    problem = f"cannot read on {after}: {_message(exc)}"
    return InputError(name, problem, hint=_FILES_HINT)


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exception types of a network that fails, from the HTTP clients loaded (one that is not
    loaded raised nothing)."""
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    names = {
        "httpx2": ("TransportError",),
        "httpx": ("TransportError",),
        "requests": ("ConnectionError", "Timeout"),
        "aiohttp": ("ClientConnectionError", "ServerTimeoutError"),
    }
    for module, attributes in names.items():
        loaded = sys.modules.get(module)
        found += [getattr(loaded, a) for a in attributes if hasattr(loaded, a)]
    return tuple(found)


def _is_network(chain: list[BaseException]) -> bool:
    errors = _network_errors()
    return any(isinstance(error, errors) for error in chain)


def _network_detail(chain: list[BaseException], waited: str) -> str:
    """What failed: ``waited`` for a timeout, else the innermost error's message."""
    kinds = {cls.__name__ for error in chain for cls in type(error).__mro__}
    if kinds & {"TimeoutError", "TimeoutException", "Timeout", "ServerTimeoutError"}:
        return waited
    return _message(chain[-1])


def _message(exc: BaseException) -> str:
    """The first lines of an exception's message, without the usage examples datasets adds."""
    lines = [
        line.strip()
        for line in str(exc).splitlines()
        if line.strip() and "load_dataset(" not in line and not line.startswith("Example")
    ]
    return " ".join(lines)[:300] or type(exc).__name__
