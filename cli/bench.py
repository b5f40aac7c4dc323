"""``r3d bench``: time r3d's native kernels against their pure-PyTorch twins and peers."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from r3d.errors import InputError

if TYPE_CHECKING:  # imported when the command runs: `r3d --help` loads no torch
    from r3d.bench.registry import Case
    from r3d.bench.runner import Record, Settings

from .app import EXIT_FAILURE, command, console, err_console

EXIT_INTERRUPTED = 130


def _check_output_path(option: str, path: str | None) -> None:
    if path is None or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise InputError(f"{option} {path}: {folder} {what}")
    if os.path.isdir(path):
        raise InputError(f"{option} {path}: is a folder, expected a file path")


def _name_list(text: str | None) -> list[str]:
    """The comma-separated names in ``text`` (none for None)."""
    return [] if text is None else [n.strip() for n in text.split(",") if n.strip()]


def _int_list(option: str, text: str | None) -> list[int]:
    """The comma-separated whole numbers in ``text`` (none for None); InputError naming
    ``option`` when one is not a number."""
    try:
        return [int(n.replace("_", "")) for n in _name_list(text)]
    except ValueError:
        raise InputError(f"{option}: expected comma-separated whole numbers, got {text!r}") \
            from None


def _list_cases() -> None:
    from r3d.bench.registry import all_cases

    for case in all_cases():
        sizes = ", ".join(f"{s:,}" for s in case.sizes)
        quick = ", ".join(f"{s:,}" for s in case.quick_sizes)
        contenders = ", ".join(c.name for c in case.contenders)
        console.print(f"[bold]{case.name}[/bold]", highlight=False)
        console.print(f"  {case.description}", style="dim", highlight=False)
        console.print(
            f"  {case.size_label}: {sizes} (quick: {quick}); contenders: {contenders}",
            highlight=False,
        )
        if case.default_devices is not None:
            console.print(
                f"  runs on {', '.join(case.default_devices)}; elsewhere only when named exactly",
                highlight=False,
            )


def _title(machine: dict, settings: Settings) -> str:
    """The report's header: machine, device, threads, torch, quick, background load."""
    title = (
        f"r3d bench on {machine['device_name']} ({settings.device}, "
        f"{machine['torch_threads']} threads, torch {machine['torch']})"
    )
    if settings.quick:
        title += " — quick"
    if settings.threads:
        title += f" — at {', '.join(map(str, settings.threads))} threads"
    if settings.load:
        plural = "es" if settings.load > 1 else ""
        title += f" — under load: {settings.load} background process{plural} (torch matmul loops)"
    return title


def _print_report(
    out: Console, title: str, records: Sequence[Record], cases: Sequence[Case]
) -> None:
    """The header, one table per case, the legend, the contenders that could not run (once)
    and the summary."""
    from r3d.bench import report

    out.print(title, style="bold", highlight=False)
    for table in report.results_tables(records, cases):
        out.print(table)
    out.print(f"[dim]{report.RESULTS_LEGEND}[/dim]")
    unavailable = report.unavailable_line(records, cases)
    if unavailable is not None:
        out.print(unavailable, style="yellow", highlight=False)
    summary = report.summary_table(records, cases)
    if summary is not None:
        out.print(summary)
        out.print(f"[dim]{report.SUMMARY_LEGEND}[/dim]")
    scaling = report.scaling_table(records)
    if scaling is not None:
        out.print(scaling)
        out.print(f"[dim]{report.SCALING_LEGEND}[/dim]")


@command
def bench(
    names: list[str] = typer.Argument(
        None,
        help="Cases to run (names or patterns such as 'packed*'); all when omitted. A case "
        "sized for another device (--list says which) runs only when named exactly.",
    ),
    quick: bool = typer.Option(
        False, "--quick",
        help="Smallest sizes and 3 repeats: every case in about a minute on 2 cores, memory "
        "included (half that with --no-memory).",
    ),
    json_path: str = typer.Option(
        None, "--json", metavar="PATH", help="Write the raw figures as JSON to PATH ('-': stdout)."
    ),
    plot_path: Path = typer.Option(
        None, "--plot", metavar="PATH", help="Draw time against size (log-log PNG) to PATH."
    ),
    html_path: Path = typer.Option(
        None, "--html", metavar="PATH", help="Write the report as a self-contained HTML page "
        "(tables, interactive charts of time against size, the machine) to PATH."
    ),
    device: str = typer.Option(
        "cpu", "--device",
        help="Where to run: cpu, cuda, or another device torch runs on (mps, ...: there the "
        "pure-PyTorch contenders only).",
    ),
    repeats: int = typer.Option(
        None, "--repeats", min=1, help="Timed samples per contender and size (default 9, quick 3)."
    ),
    measure_memory: bool = typer.Option(
        True, "--memory/--no-memory", help="Measure the peak memory of each contender."
    ),
    load: int = typer.Option(
        0, "--load", min=0, metavar="N",
        help="Measure under a synthetic background load: N processes each multiplying small "
        "matrices with torch on its own threads, as other jobs on a shared machine do "
        "(stopped when the run ends). Run once with and once without to compare.",
    ),
    threads: str = typer.Option(
        None, "--threads", metavar="N,M,..",
        help="Measure every contender at each of these torch thread counts (interleaved) and "
        "report the scaling efficiency t1 / (n tn) per case; default: torch's count as it is.",
    ),
    sizes: str = typer.Option(
        None, "--sizes", metavar="N,M,..",
        help="Measure these problem sizes in every case selected instead of its own grid.",
    ),
    contenders: str = typer.Option(
        None, "--contenders", metavar="NAME,..",
        help="Measure only these contenders (e.g. r3d,pykdtree); default: all.",
    ),
    list_cases: bool = typer.Option(False, "--list", help="List the cases and exit."),
) -> None:
    """Benchmark r3d's native kernels against pure PyTorch and installed peers (PyTorch3D).

    Each case times its contenders interleaved, after a warm-up, and reports
    the median time of one call, its spread (interquartile range),
    the ratio to r3d's native kernel (above 1: r3d is faster)
    and the peak memory one call adds.
    A summary ends the run: per case, r3d's time and every contender's ratio
    at the largest size measured.
    Ctrl-C stops and reports what was measured so far.
    """
    from r3d.bench import report
    from r3d.bench.page import write_bench_page
    from r3d.bench.registry import select_cases
    from r3d.bench.runner import Settings, check_contender_names, iter_measurements
    from r3d.io.atomic import atomic_paths
    from r3d.runs.machine import machine_info

    if list_cases:
        _list_cases()
        return
    settings = Settings.make(
        device, quick=quick, repeats=repeats, memory=measure_memory, load=load,
        threads=_int_list("--threads", threads), sizes=_int_list("--sizes", sizes),
        contenders=_name_list(contenders),
    )
    cases = select_cases(names, settings.device)
    check_contender_names(cases, settings.only_contenders)
    _check_output_path("--json", json_path)
    for option, path in (("--plot", plot_path), ("--html", html_path)):
        if path is not None:
            _check_output_path(option, str(path))
    machine = machine_info(settings.device)

    records: list[Record] = []
    interrupted = False
    total = sum(len(settings.sizes(c)) for c in cases)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        task = progress.add_task("starting", total=total)

        def status(message: str) -> None:
            progress.update(task, description=message)

        try:
            with contextlib.closing(iter_measurements(cases, settings, status)) as groups:
                for group in groups:
                    records.extend(group)
                    progress.advance(task)
        except KeyboardInterrupt:
            interrupted = True

    out = err_console if json_path == "-" else console
    title = _title(machine, settings)
    if records:
        _print_report(out, title, records, cases)
    if interrupted:
        done = len({(r.case, r.size) for r in records})
        err_console.print(f"[yellow]interrupted[/yellow] after {done} of {total} measurements")

    if json_path is not None:
        doc = report.json_document(records, cases, settings, machine, interrupted)
        text = json.dumps(doc, indent=2)
        if json_path == "-":
            typer.echo(text)
        else:
            with atomic_paths(json_path) as (tmp,):
                Path(tmp).write_text(text + "\n")
            err_console.print(f"figures written to {json_path}", markup=False)
    if plot_path is not None and records:
        with atomic_paths(plot_path) as (tmp,):
            report.plot(records, cases, tmp, title)
        err_console.print(f"plot written to {plot_path}", markup=False)
    if html_path is not None and records:
        write_bench_page(html_path, records, cases, settings, machine, title, interrupted)
        err_console.print(f"report written to {html_path}", markup=False)

    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    failed = [r for r in records if r.status == "error"]
    if failed:
        for r in failed:
            err_console.print(Text.assemble(("error:", "bold red"), f" {r.case} {r.size:,} "
                                            f"{r.contender}: {r.reason}"), highlight=False)
        raise typer.Exit(EXIT_FAILURE)
