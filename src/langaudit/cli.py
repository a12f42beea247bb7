"""The ``langaudit`` command line: each command parses options, calls the library, renders."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import InputError, LangauditError

FORMAT_CHOICES = ("alpaca", "sharegpt", "messages", "pairs", "preference")


def _fail(error: LangauditError, bad_lines: Any = None) -> None:
    """Report ``error`` and exit 2, first discarding a half-written --bad-lines file."""
    if bad_lines is not None:
        bad_lines.close(ok=False)
    message = str(error) if isinstance(error, InputError) else f"langaudit: {error}"
    click.echo(message, err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="langaudit")
def cli() -> None:
    """Audit LLM fine-tuning datasets for language consistency."""


def _reading_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that reads and judges records (scan, audit, check)."""
    return _judging_options(_limit_options(command), bad_lines=True)


def _limit_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--limit and --sample-seed: not rewrite's, which never loses a record."""
    command = click.option(
        "--sample-seed",
        type=int,
        metavar="S",
        help="With --limit: a random sample of N records of each input instead of the first "
        "N, the same for the same S, in their order.",
    )(command)
    return click.option(
        "--limit",
        type=click.IntRange(1),
        metavar="N",
        help="Read only the first N records of each input file or split.",
    )(command)


def _limit_note(done: str, reading: dict[str, Any]) -> None:
    """Say on stderr that only part of the data was read, with --limit."""
    if reading["limit"] is not None:
        from .sampling import describe

        what = describe(reading["limit"], reading["sample_seed"])
        click.echo(f"{done} {what} (--limit)", err=True)


def _limited(sources: list[Any], reading: dict[str, Any]) -> list[Any]:
    """``sources`` cut to --limit records each (sampled with --sample-seed)."""
    from .errors import UsageError
    from .sampling import limited

    limit, seed = reading["limit"], reading["sample_seed"]
    if limit is None and seed is not None:
        raise UsageError("--sample-seed needs --limit N", "N: how many records to sample")
    return sources if limit is None else [limited(src, limit, seed) for src in sources]


def _judging_options(command: Callable[..., Any], bad_lines: bool) -> Callable[..., Any]:
    """:func:`_reading_options`, with or without --bad-lines (rewrite writes unreadable records
    to its rejects file)."""
    options = [
        click.option(
            "--format",
            "format_",
            type=click.Choice(FORMAT_CHOICES),
            default=None,
            help="Record shape (default: detected from each file's first record).",
        ),
        click.option("--prompt-field", metavar="PATH", help="Dotted path of the prompt text."),
        click.option("--response-field", metavar="PATH", help="Dotted path of the response text."),
        click.option("--system-field", metavar="PATH", help="Dotted path of a system prompt."),
        click.option(
            "--expect",
            metavar="LANG",
            help="Language of responses unless a record says otherwise "
            "(zh, en, zh-Hans, zh-Hant, ...).",
        ),
        click.option(
            "--strictness",
            type=click.Choice(["lenient", "default", "strict"]),
            default=None,
            help="How much mixing counts as code-switching.  [default: default]",
        ),
        click.option(
            "--allow-terms",
            metavar="FILE",
            help="Glossary file: one term per line that is never code-switching.",
        ),
        click.option(
            "--on-error",
            type=click.Choice(["raise", "skip"]),
            default=None,
            help="Stop at the first unreadable record, or skip and count such records.  "
            "[default: raise]",
        ),
        *(
            [
                click.option(
                    "--bad-lines",
                    metavar="FILE",
                    help="With --on-error=skip: write the skipped lines/records to FILE.",
                )
            ]
            if bad_lines
            else []
        ),
        click.option(
            "--registry",
            metavar="FILE",
            help="A LLaMA-Factory dataset_info.json (or its folder): the inputs are names of "
            "its datasets (scan, audit, check: all without any), each read with its declared "
            "formatting, columns and tags.",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(1),
            metavar="N",
            help="Worker processes annotating batches.  [default: all cores]",
        ),
        click.option(
            "--config",
            metavar="FILE",
            help="Settings file (langaudit.toml or pyproject.toml) for every input, instead of "
            "the nearest one above each input.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config_options(reading: dict[str, Any]) -> dict[str, Any]:
    """AuditConfig options from the values of :func:`_reading_options` (but --bad-lines and
    --config); None where the option was not given."""
    from .config import read_terms
    from .parallel import default_jobs

    terms = reading["allow_terms"]
    return {
        "format": reading["format_"],
        "prompt_field": reading["prompt_field"],
        "response_field": reading["response_field"],
        "system_field": reading["system_field"],
        "expect": reading["expect"],
        "strictness": reading["strictness"],
        "allow_terms": read_terms(terms) if terms else None,
        "on_error": reading["on_error"],
        "jobs": reading["jobs"] or default_jobs(),
    }


def _registry(path: str | None, names: Sequence[str]) -> Any:
    """The registry of --registry, with the datasets ``names`` (None without --registry)."""
    from .errors import UsageError

    if path is None:
        if not names:
            raise UsageError(
                "no INPUT given",
                "pass files or folders, or --registry dataset_info.json [NAME...]",
            )
        return None
    from .registry import read_registry

    return read_registry(path, names)


def _given_options(reading: dict[str, Any]) -> dict[str, Any]:
    """The judging and sampling options given on the command line, as an audit report's
    ``options`` has them (for comparing a check with a report)."""
    from .config import normalise_lang, read_terms

    given = {
        "format": reading["format_"],
        "prompt_field": reading["prompt_field"],
        "response_field": reading["response_field"],
        "system_field": reading["system_field"],
        "expect": normalise_lang(reading["expect"]) if reading["expect"] else None,
        "strictness": reading["strictness"],
        "allow_terms": list(read_terms(reading["allow_terms"])) if reading["allow_terms"] else None,
        "allow_terms_file": reading["allow_terms"],
        "limit": reading.get("limit"),
        "sample_seed": reading.get("sample_seed"),
    }
    return {k: v for k, v in given.items() if v not in (None, [], "default")}


def _protected(inputs: Sequence[str], sources: Sequence[Any], registry: Any) -> list[str]:
    """The paths no output of a command may overwrite: its input files and folders (the
    folder of a local ``hf:`` input), or the registry, everything it declares, and the files
    read."""
    from .hub import is_spec, parse_spec

    if registry is not None:
        return [*registry.protected(), *(src.name for src in sources)]
    out = []
    for item in inputs:
        if not is_spec(item):
            out.append(item)
        elif (spec := parse_spec(item)).local:
            out.append(os.path.expanduser(spec.path))
    return out


def _skipped_datasets(registry: Any) -> None:
    """Say on stderr which datasets of the registry are not read, and why."""
    for line in registry.skipped_summary() if registry is not None else ():
        click.echo(f"{registry.path}: skipped {line}", err=True)


def _configured(
    inputs: Sequence[str], options: dict[str, Any], config: str | None, registry: Any = None
) -> tuple[list[Any], dict[str, Any], list[str]]:
    """The sources of ``inputs`` (or of ``registry``'s datasets), each with the AuditConfig of
    its settings file under the command line's ``options``; the options of the first input
    (for run-wide ones); the settings files used."""
    from . import settings as st

    resolved = st.for_inputs(inputs, options, config, registry)
    files = list(dict.fromkeys(str(s.path) for _, _, s in resolved if s.path is not None))
    return [src for src, _, _ in resolved], resolved[0][1] if resolved else {}, files


def _bad_line_sink(
    bad_lines: str | None, sources: Sequence[Any], inputs: Sequence[str], outputs: Sequence[str]
) -> Any:
    """The writer of --bad-lines (None without), refused where it would overwrite a file."""
    from .errors import UsageError
    from .output import BadLineWriter, refuse_overwriting_inputs

    if not bad_lines:
        return None
    if any(src.config.on_error != "skip" for src in sources):
        raise UsageError("--bad-lines needs --on-error=skip")
    refuse_overwriting_inputs(bad_lines, [*inputs, *outputs], what="--bad-lines file")
    return BadLineWriter(bad_lines)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to write one row per record: .jsonl, .parquet, or - for stdout.",
)
@_reading_options
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def scan(
    inputs: tuple[str, ...], output: str, bad_lines: str | None, quiet: bool, **reading: Any
) -> None:
    """Annotate every record of INPUTS: languages, script ratios, expectation, flags.

    INPUTS are JSONL/JSON/CSV/TSV/Parquet/Arrow files (optionally .gz/.zst), Hugging Face
    save_to_disk folders, or Hub datasets, streamed: hf:OWNER/NAME[:CONFIG][@SPLIT]. Writes
    exactly one row per record, in input order.
    """
    from .api import scan_batches
    from .engine import ScanLog
    from .output import refuse_overwriting_inputs, result_kind, write_results

    started = time.perf_counter()
    sink = None
    try:
        result_kind(output)
        registry = _registry(reading["registry"], inputs)
        sources, _, _ = _configured(inputs, _config_options(reading), reading["config"], registry)
        paths = _protected(inputs, sources, registry)
        sources = _limited(sources, reading)
        refuse_overwriting_inputs(output, paths)
        sink = _bad_line_sink(bad_lines, sources, paths, [output])
        log = ScanLog(sink=sink)
        tally = _Tally()
        _arrow_without_pandas()
        batches = scan_batches(sources, log=log)
        rows = write_results(tally.watch(batches), output, sys.stdout.buffer)
    except LangauditError as error:
        _fail(error, sink)
    if sink is not None:
        sink.close()
    if not quiet:
        _skipped_datasets(registry)
        tally.report(rows, output, log, bad_lines, time.perf_counter() - started)
        _limit_note("scanned", reading)


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option("--html", metavar="FILE", help="Also write the report as one self-contained page.")
@click.option("--json", "json_", metavar="FILE", help="Also write the report as JSON.")
@click.option(
    "--examples",
    type=click.IntRange(0, 1000),
    default=None,
    help="Worst records kept per flag for the report.  [default: 5]",
)
@click.option(
    "--zh-share",
    metavar="SHARE",
    help="The Chinese share of responses you want, for the recommendations: 0.7, or a range "
    "such as 0.6:0.9.",
)
@click.option(
    "--baseline",
    metavar="FILE",
    help="An earlier report (audit --json) to compare with: the changes since it follow the "
    "report, and are in the JSON and HTML reports.",
)
@_reading_options
@click.option("-q", "--quiet", is_flag=True, help="No report in the terminal and no progress.")
def audit(
    inputs: tuple[str, ...],
    html: str | None,
    json_: str | None,
    examples: int | None,
    zh_share: str | None,
    baseline: str | None,
    bad_lines: str | None,
    quiet: bool,
    **reading: Any,
) -> None:
    """Report on INPUTS as a whole: languages, flags, worst examples, what to fix.

    The report goes to the terminal (stdout), and with --html / --json to files. INPUTS are
    read as by ``langaudit scan``; only statistics and a few examples are kept, so memory
    stays bounded at any size.
    """
    from .api import audit as run_audit
    from .config import ShareRange
    from .engine import ScanLog
    from .errors import UsageError
    from .output import refuse_overwriting_inputs

    sink = None
    try:
        outputs = [path for path in (html, json_) if path]
        if html and json_ and Path(html).resolve() == Path(json_).resolve():
            raise UsageError("--html and --json name the same file")
        share = ShareRange.parse(zh_share) if zh_share is not None else None
        given = _config_options(reading)
        registry = _registry(reading["registry"], inputs)
        sources, options, settings_files = _configured(
            inputs,
            {**given, "zh_share": share, "examples": examples},
            reading["config"],
            registry,
        )
        paths = _protected(inputs, sources, registry)
        sources = _limited(sources, reading)
        for path in outputs:
            refuse_overwriting_inputs(path, paths, what="report")
        sink = _bad_line_sink(bad_lines, sources, paths, outputs)
        _arrow_without_pandas()
        with _Progress(sources, enabled=not quiet) as progress:
            report = run_audit(
                sources,
                examples=options.get("examples", 5),
                keep_table=False,
                zh_share=options.get("zh_share"),
                log=ScanLog(sink=sink),
                progress=progress.advance,
                baseline=baseline,
                **given,
            )
        report.inputs = [src.name for src in sources] if registry is not None else list(inputs)
        report.config_files = settings_files
        if registry is not None:
            report.registry = registry
            report.datasets = {src.name: src.dataset for src in sources}
        if reading["allow_terms"]:
            report.options["allow_terms_file"] = reading["allow_terms"]
        for key in ("limit", "sample_seed"):
            if reading[key] is not None:
                report.options[key] = reading[key]
        if json_:
            report.to_json(json_)
        if html:
            report.to_html(html)
    except LangauditError as error:
        _fail(error, sink)
    if sink is not None:
        sink.close()
    if not quiet:
        from .report_text import console_for

        report.print(console_for(sys.stdout))
        written = [
            f"{kind} report written to {path}"
            for kind, path in (("JSON", json_), ("HTML", html))
            if path
        ]
        for line in written:
            click.echo(line, err=True)


class _FlagLimit(click.ParamType):
    """``FLAG=LIMIT``: one value per option, so that file names after it are never taken."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = "FLAG=" + ("RATE" if kind == "max-rate" else "N")

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
        from .settings import PER_FILE

        flag, sep, limit = str(value).partition("=")
        if not sep:
            example = "code_switch=0.01" if self.kind == "max-rate" else "lang_mismatch=0"
            self.fail(f"expected {self.name}, e.g. {example}; got {value!r}", param, ctx)
        try:
            parsed = PER_FILE[self.kind]({flag.strip(): _number(limit)})
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return flag.strip(), parsed[flag.strip()]


def _number(text: str) -> Any:
    """``5`` -> 5, ``0.5`` -> 0.5; anything else (``1%``, ``x``) stays text for the parser."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@cli.command()
@click.argument("inputs", nargs=-1, type=click.Path())
@click.option(
    "--max-rate",
    type=_FlagLimit("max-rate"),
    multiple=True,
    help="Most records per file with FLAG, as a share (0.01 or 1%); repeat for more flags.",
)
@click.option(
    "--max-count",
    type=_FlagLimit("max-count"),
    multiple=True,
    help="Most records per file with FLAG; repeat for more flags. A flag without a limit "
    "may not occur at all.",
)
@click.option(
    "--zh-share",
    metavar="LOW:HIGH",
    help="Bounds on the Chinese share of each file's responses (0.6:0.9, 0.6: or :0.9).",
)
@click.option(
    "--max-lines",
    type=click.IntRange(0),
    default=None,
    help="Offending records listed; the rest are counted.  [default: 50]",
)
@click.option(
    "--baseline",
    metavar="FILE",
    help="An earlier report (audit --json) of the same data: print the rates that changed "
    "since it and the records that newly fail.",
)
@click.option(
    "--no-regress",
    is_flag=True,
    help="With --baseline: fail when the flagged rate, a flag's rate or the unreadable share "
    "got worse, or the Chinese share moved further outside --zh-share.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0),
    metavar="POINTS",
    help="With --no-regress: how many percentage points worse a rate may get.  [default: 0]",
)
@_reading_options
def check(
    inputs: tuple[str, ...],
    max_rate: tuple[tuple[str, float], ...],
    max_count: tuple[tuple[str, int], ...],
    zh_share: str | None,
    max_lines: int | None,
    baseline: str | None,
    no_regress: bool,
    tolerance: float | None,
    bad_lines: str | None,
    **reading: Any,
) -> None:
    """Check INPUTS against rules; exit 1 if any fails (for CI and pre-commit).

    Prints one PATH:ROW: FLAG: reason line per offending record (ROW is the line in JSONL
    and CSV files, else the record's position from 1), then one line per rule. Rules come
    from the nearest langaudit.toml or pyproject.toml [tool.langaudit]; these options
    replace them. Exits 0 when every rule holds, 1 when one fails, 2 on usage or input errors.
    With --baseline and --no-regress, a rate worse than in the baseline fails too.
    """
    from dataclasses import replace

    from .diff import against_baseline
    from .engine import ScanLog
    from .gate import plan_check, run_check

    sink = None
    compared = None
    try:
        earlier = _baseline(baseline, no_regress, tolerance)
        registry = _registry(reading["registry"], inputs)
        plan = plan_check(
            list(inputs),
            registry=registry,
            max_rate=dict(max_rate) if max_rate else None,
            max_count=dict(max_count) if max_count else None,
            zh_share=zh_share,
            max_findings=max_lines,
            config=reading["config"],
            **_config_options(reading),
        )
        limited = _limited([src for src, _ in plan.sources], reading)
        rules = [r for _, r in plan.sources]
        plan = replace(plan, sources=list(zip(limited, rules, strict=True)))
        checked = [src for src, _ in plan.sources]
        sink = _bad_line_sink(bad_lines, checked, _protected(inputs, checked, registry), [])
        log = ScanLog(sink=sink)
        _arrow_without_pandas()
        with _Progress(None, label="checking") as progress:
            result = run_check(
                plan, log=log, progress=progress.advance, statistics=earlier is not None
            )
        if earlier is not None:
            share = (tolerance or 0.0) / 100
            statistics = {**result.stats.to_dict(), "options": _given_options(reading)}
            compared = against_baseline(earlier, statistics, share, plan.zh_share, no_regress)
    except LangauditError as error:
        _fail(error, sink)
    if sink is not None:
        sink.close()
    _skipped_datasets(registry)
    for line in result.lines():
        click.echo(line)
    for line in compared.lines(plan.max_findings) if compared is not None else ():
        click.echo(line)
    if log.skipped:
        click.echo(f"skipped {_plural(log.skipped, 'unreadable record')}", err=True)
    _limit_note("checked", reading)
    sys.exit(max(result.exit_code, compared.exit_code if compared is not None else 0))


def _baseline(path: str | None, no_regress: bool, tolerance: float | None) -> Any:
    """The report of check's --baseline (None without), read before anything is checked."""
    from .diff import Baseline
    from .errors import UsageError

    if no_regress and path is None:
        raise UsageError(
            "--no-regress needs --baseline FILE",
            "give the report to compare with, written by: langaudit audit INPUT... --json FILE",
        )
    if tolerance is not None and not no_regress:
        raise UsageError("--tolerance needs --no-regress")
    return Baseline.load(path) if path is not None else None


@cli.command()
@click.argument("old", metavar="OLD.json", type=click.Path())
@click.argument("new", metavar="NEW.json", type=click.Path())
@click.option("--json", "json_", metavar="FILE", help="Also write the differences as JSON.")
@click.option(
    "--html",
    metavar="FILE",
    help="Also write NEW's report as a page, with a section on the changes since OLD.",
)
@click.option(
    "--max-records",
    type=click.IntRange(0),
    metavar="N",
    default=20,
    show_default=True,
    help="Newly failing records listed in the terminal (the JSON lists them all).",
)
@click.option("-q", "--quiet", is_flag=True, help="Nothing in the terminal.")
def diff(
    old: str, new: str, json_: str | None, html: str | None, max_records: int, quiet: bool
) -> None:
    """Compare two audit reports (written by audit --json): the rates of flags, the languages
    per role, the Chinese share, the files, and the records that newly fail.

    Exits 0 whatever changed (it is a report; check --baseline --no-regress gates), 2 when a
    file is not a langaudit JSON report.
    """
    from .diff import diff_reports
    from .errors import UsageError
    from .output import refuse_overwriting_inputs

    try:
        if html and json_ and Path(html).resolve() == Path(json_).resolve():
            raise UsageError("--html and --json name the same file")
        for path in (json_, html):
            if path:
                refuse_overwriting_inputs(path, [old, new], what="report")
        result = diff_reports(old, new)
        if json_:
            result.to_json(json_)
        if html:
            result.to_html(html)
    except LangauditError as error:
        _fail(error)
    if not quiet:
        from .report_text import console_for

        result.print(console_for(sys.stdout), max_records)


@cli.command()
@click.argument("input_", metavar="INPUT", type=click.Path())
@click.option("-o", "--output", metavar="FILE", help="Where to write, in the input's format.")
@click.option(
    "--tag",
    metavar="KIND",
    multiple=True,
    help="column, prefix, instruction or system (repeat, or comma-separated, for several).",
)
@click.option(
    "--tag-when",
    type=click.Choice(["always", "implicit", "mismatch"]),
    default="mismatch",
    show_default=True,
    help="Which records get tags: all, those whose expected language is the prompt's, or those "
    "that also answer in another language.",
)
@click.option(
    "--prefix-template",
    metavar="TEXT",
    default="[{lang}] ",
    show_default=True,
    help="The prefix --tag prefix puts before the prompt.",
)
@click.option("--drop", metavar="FLAGS", multiple=True, help="Reject records with these flags.")
@click.option(
    "--rejects",
    metavar="FILE",
    help="Where rejected records go, with flags and reasons (JSONL; default OUTPUT.rejects.jsonl).",
)
@click.option("--zh-share", metavar="SHARE", help="The Chinese share of responses to reach.")
@click.option(
    "--mode",
    type=click.Choice(["down", "up"]),
    default="down",
    show_default=True,
    help="Reach --zh-share by dropping records of the majority, or repeating the minority.",
)
@click.option("--max-rows", type=click.IntRange(0), help="At most this many records out.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampling.")
@click.option("--in-place", is_flag=True, help="Rewrite the input itself (a backup is kept).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@lambda command: _judging_options(command, bad_lines=False)
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def rewrite(
    input_: str,
    output: str | None,
    tag: tuple[str, ...],
    tag_when: str,
    prefix_template: str,
    drop: tuple[str, ...],
    rejects: str | None,
    zh_share: str | None,
    mode: str,
    max_rows: int | None,
    seed: int,
    in_place: bool,
    dry_run: bool,
    quiet: bool,
    **reading: Any,
) -> None:
    """Fix INPUT as the audit recommends: language tags or instructions, a Chinese share,
    quarantine of flagged records. Nothing is lost: every record goes to the output or the
    rejects file. Exits 0 when nothing changed, 1 when records were tagged, added or rejected.
    """
    from .rewriting import rewrite as run_rewrite

    try:
        _arrow_without_pandas()
        declared: dict[str, Any] = {}
        if reading["registry"] is not None:
            reading = {**reading, "in_place": in_place}
            input_, declared = _registered_file(reading["registry"], input_, reading)
        result = run_rewrite(
            input_,
            output,
            tag=tag,
            tag_when=tag_when,
            drop=drop,
            rejects=rejects,
            zh_share=zh_share,
            mode=mode,
            max_rows=max_rows,
            seed=seed,
            prefix=prefix_template,
            in_place=in_place,
            dry_run=dry_run,
            config=reading["config"],
            **_config_options(reading),
            **declared,
        )
    except LangauditError as error:
        _fail(error)
    if dry_run:
        for line in result.changes:
            click.echo(line)
        if result.more_changes:
            click.echo(f"... and {result.more_changes:,} more changes")
    if not quiet:
        for line in result.lines():
            click.echo(line, err=True)
    sys.exit(1 if result.changed else 0)


def _registered_file(
    registry: str, name: str, reading: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The file of dataset ``name`` of ``registry`` (or the file ``name`` of one of its
    datasets), and the options of rewrite that read it as declared and keep every path of
    the registry from being written."""
    from .errors import UsageError
    from .registry import read_registry

    for key in ("format_", "prompt_field", "response_field", "system_field"):
        if reading[key]:
            option = "--" + key.strip("_").replace("_", "-")
            raise UsageError(
                f"{option} cannot be used with --registry",
                f"{registry} declares how each dataset is read (formatting, columns, tags)",
            )
    try:  # by name: read alone (a file another dataset also reads is that dataset's here)
        reg = read_registry(registry, [name])
    except UsageError:
        reg = read_registry(registry)
    dataset = next((d for d in reg.datasets if d.name == name), None)
    if dataset is None:
        real = os.path.realpath(name)
        dataset = next(
            (d for d in reg.audited if any(os.path.realpath(f) == real for f in d.files)), None
        )
        if dataset is None:
            read_registry(registry, [name])  # the error for a name it does not have
            raise UsageError(f"{registry}: no dataset reads {name}")
        path = name
    else:
        if dataset.skipped:
            raise UsageError(f"{registry}: dataset {name!r} is not read here: {dataset.skipped}")
        if len(dataset.files) != 1:
            raise UsageError(
                f"{registry}: dataset {name!r} is a folder of {len(dataset.files)} files",
                f"rewrite one file at a time: langaudit rewrite --registry {registry} "
                f"{dataset.files[0]} -o OUTPUT (outside the folder, which training reads whole)",
            )
        path = dataset.files[0]
    if reading.get("in_place") and dataset.path is not None and os.path.isdir(dataset.path):
        raise UsageError(
            f"{registry}: {path} is a file of dataset {dataset.name!r}, a folder training reads "
            "whole: --in-place would leave a backup and a manifest in it",
            "write the output beside the folder with -o",
        )
    assert dataset.declared is not None
    options = {"shape": dataset.declared.shape, "protect": reg.protected()}
    return path, options


#: Whether the CLI runs as its own process (the console script, ``python -m langaudit``), not
#: called by other code that may use pandas with pyarrow later.
_OWN_PROCESS = False


def _arrow_without_pandas() -> None:
    """In the CLI's own process, keep pyarrow from importing pandas (see
    :func:`langaudit.parallel.arrow_without_pandas`)."""
    if _OWN_PROCESS:
        from .parallel import arrow_without_pandas

        arrow_without_pandas()


class _Progress:
    """A progress bar on stderr (rate and time left), shown only on a terminal."""

    def __init__(
        self, sources: list[Any] | None, enabled: bool = True, label: str = "auditing"
    ) -> None:
        """``sources`` in the order they are read, for the bytes left (None: count only)."""
        sources = sources or []
        sizes = [src.size for src in sources]
        self.total = sum(sizes) if sizes and all(size is not None for size in sizes) else None
        # bytes of the sources before each one (read by the time it starts)
        self.done_before = {
            id(src): sum(size or 0 for size in sizes[:k]) for k, src in enumerate(sources)
        }
        self.records = 0
        self.bar: Any = None
        self.enabled = enabled and sys.stderr.isatty()
        self.label = label

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn(f"[bold]{self.label}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[records]:,} records, {task.fields[rate]}/s"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("audit", total=self.total, records=0, rate="-")
            self.started = time.perf_counter()
        return self

    def advance(self, source: Any, records: int) -> None:
        self.records += records
        if self.bar is None:
            return
        position = source.position() if source.position is not None else 0
        rate = self.records / max(time.perf_counter() - self.started, 1e-9)
        self.bar.update(
            self.task,
            completed=self.done_before.get(id(source), 0) + position,
            records=self.records,
            rate=f"{rate:,.0f}",
        )

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Tally:
    """Counts the flags passing through to the output, for the closing summary."""

    def __init__(self) -> None:
        self.flags: Counter[str] = Counter()

    def watch(self, batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            for flags in batch.column("flags").to_pylist():
                self.flags.update(flags)
            yield batch

    def report(
        self, rows: int, output: str, log: Any, bad_lines: str | None, seconds: float
    ) -> None:
        for source, count in log.records.items():
            skipped = log.skipped_by_source.get(source, 0)
            note = f" ({skipped} skipped)" if skipped else ""
            if count == 0 and not skipped:
                note = " (no records: the file is empty)"
            click.echo(f"{source}: {_plural(count, 'record')}{note}", err=True)
        flags = ", ".join(f"{name} {count}" for name, count in self.flags.most_common()) or "none"
        where = "stdout" if output == "-" else output
        click.echo(
            f"scanned {_plural(rows, 'record')} in {seconds:.1f}s -> {where}; flags: {flags}",
            err=True,
        )
        if log.skipped:
            saved = f", written to {bad_lines}" if bad_lines else ""
            click.echo(
                f"skipped {_plural(log.skipped, 'unreadable record')}{saved}; first: "
                f"{log.first_errors[0]}",
                err=True,
            )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (``argv`` None: the process's own arguments); returns the
    exit code."""
    global _OWN_PROCESS
    _OWN_PROCESS = argv is None
    try:
        cli.main(args=argv, prog_name="langaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
