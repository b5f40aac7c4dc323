"""Presenting benchmark records: rich tables (their rows shared with the HTML page of
:mod:`r3d.bench.page`), a JSON document and a log-log plot."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.table import Table

from r3d.bench.registry import Case
from r3d.bench.runner import Record, Settings

JSON_SCHEMA_VERSION = 1


def format_seconds(seconds: float | None) -> str:
    """``seconds`` with a unit that keeps 3 significant digits (ns, µs, ms, s); "-" for None."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_bytes(num: int | None) -> str:
    """``num`` bytes in B, KiB, MiB or GiB; "-" for None."""
    if num is None:
        return "-"
    value = float(num)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} GiB"


def format_ratio(ratio: float | None) -> str:
    """A ratio as "3.2×"; "-" for None."""
    return "-" if ratio is None else f"{ratio:.3g}×"


def format_size(size: int) -> str:
    """A problem size in short form: 10k, 1.5M, 999."""
    for suffix, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale:
            return f"{size / scale:.4g}{suffix}"
    return str(size)


def contender_label(r: Record) -> str:
    """The contender of ``r``, with its thread count when the run named thread counts."""
    if r.threads is None:
        return r.contender
    return f"{r.contender} ({r.threads} thread{'s' if r.threads > 1 else ''})"


@dataclass(frozen=True)
class ResultRow:
    """One row of a case's results, formatted: the size (empty below the first row of a
    size), the contender, its median time, spread (relative to the median), time over r3d
    native's, peak memory ("failed" when it could not be measured) and its ratio to native's.
    """

    size: str
    contender: str
    native: bool
    median: str
    spread: str
    time_ratio: str
    memory: str
    memory_failed: bool
    memory_ratio: str


RESULT_COLUMNS = ("contender", "median", "spread", "time/r3d", "peak mem", "mem/r3d")
RESULTS_LEGEND = (
    "median and spread (interquartile range) of the time of one call; peak mem: memory one "
    "call adds at most; time/r3d, mem/r3d: the contender's figure over r3d native's (above 1: "
    "r3d is faster / uses less)"
)
SUMMARY_LEGEND = (
    "r3d: median time of one call at the largest size measured; other columns: that "
    "contender's time over r3d's there (above 1: r3d is faster), or at the largest size it "
    "ran (@size); -: not measured"
)


def case_rows(records: Sequence[Record], case: Case) -> tuple[list[ResultRow], str | None]:
    """The rows of ``case`` in ``records`` (its contenders that ran, size by size), and the
    line naming those skipped at some sizes or that failed, or None.

    Contenders that could not run at all (unavailable) are in neither:
    :func:`unavailable_line` says it once per run.
    """
    rows: list[ResultRow] = []
    missing: dict[str, str] = {}
    previous = None
    for r in records:
        if r.case != case.name:
            continue
        if r.status != "ok":
            if r.status != "unavailable":
                missing.setdefault(r.contender, f"{r.status}: {r.reason}")
            continue
        spread = (f"{100 * r.spread_s / r.median_s:.1f}%"
                  if r.median_s and r.spread_s is not None else "-")
        rows.append(ResultRow(
            size=format_size(r.size) if r.size != previous else "", contender=contender_label(r),
            native=r.kind == "native", median=format_seconds(r.median_s), spread=spread,
            time_ratio=format_ratio(r.ratio_vs_native),
            memory="failed" if r.memory_error else format_bytes(r.peak_memory_bytes),
            memory_failed=r.memory_error is not None,
            memory_ratio=format_ratio(r.memory_ratio_vs_native)))
        previous = r.size
    note = "not measured: " + "; ".join(f"{name} ({why})" for name, why in missing.items()) \
        if missing else None
    return rows, note


def results_tables(records: Sequence[Record], cases: Sequence[Case]) -> list[Table]:
    """One rich table per case in ``records`` (:func:`case_rows`), with the contenders skipped
    at some sizes or that failed listed under it."""
    tables = []
    for case in cases:
        if not any(r.case == case.name for r in records):
            continue
        rows, note = case_rows(records, case)
        table = Table(
            title=f"[bold]{case.name}[/bold]  [dim]{case.description}[/dim]",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        table.add_column(case.size_label, justify="right")
        for column in RESULT_COLUMNS:
            table.add_column(column, justify="left" if column == "contender" else "right")
        for k, row in enumerate(rows):
            if k and row.size:
                table.add_section()
            table.add_row(
                row.size, f"[cyan]{row.contender}[/cyan]" if row.native else row.contender,
                row.median, row.spread, row.time_ratio,
                "[dim]failed[/dim]" if row.memory_failed else row.memory, row.memory_ratio,
            )
        if note is not None:
            table.caption = note
            table.caption_justify = "left"
        tables.append(table)
    return tables


def unavailable_line(records: Sequence[Record], cases: Sequence[Case]) -> str | None:
    """One line naming each contender that could not run (status "unavailable"), why, and in
    how many of the ``cases`` measured; None when every contender could run."""
    where: dict[tuple[str, str], set[str]] = {}
    for r in records:
        if r.status == "unavailable":
            where.setdefault((r.contender, r.reason or "unavailable"), set()).add(r.case)
    if not where:
        return None
    measured = len({r.case for r in records})
    parts = [
        f"{name} ({why}) in " + ("every case" if len(names) == measured
                                 else f"{len(names)} of {measured} cases")
        for (name, why), names in where.items()
    ]
    return "not measured: " + "; ".join(parts)


def _largest_ok(rows: Sequence[Record], contender: str) -> Record | None:
    """The record of ``contender`` at the largest size where it ran, or None."""
    ok = [r for r in rows if r.contender == contender and r.status == "ok"]
    return max(ok, key=lambda r: r.size) if ok else None


def _ratio_cell(rows: Sequence[Record], contender: str, size: int) -> str:
    """``contender``'s time over r3d's at ``size``, else at the largest size it ran ("@N");
    "-" when it never ran, "" when it is not a contender of the case."""
    if all(r.contender != contender for r in rows):
        return ""
    at_size = next((r for r in rows if r.contender == contender and r.size == size
                    and r.status == "ok"), None)
    if at_size is not None:
        return format_ratio(at_size.ratio_vs_native)
    largest = _largest_ok([r for r in rows if r.ratio_vs_native is not None], contender)
    if largest is None:
        return "-"
    return f"{format_ratio(largest.ratio_vs_native)} @{format_size(largest.size)}"


def summary_rows(records: Sequence[Record],
                 cases: Sequence[Case]) -> tuple[list[str], list[list[str]]] | None:
    """The summary of a run: (the contenders other than r3d native, one row per case in
    ``records``: its name, the largest size r3d's native kernel was measured at, its median
    time there and every other contender's time over it at that size (above 1: r3d is
    faster), or at the largest size that contender ran when smaller ("3.2× @256"); "" where
    that contender is not one of the case's), on the most threads of a run that named thread
    counts. None when there are no records."""
    names = [c.name for c in cases if any(r.case == c.name for r in records)]
    if not names:
        return None
    most = max((r.threads for r in records if r.threads is not None), default=None)
    records = [r for r in records if r.threads == most]  # on the most threads measured
    others = list(dict.fromkeys(
        r.contender for r in records if r.kind != "native" and r.case in names
    ))
    rows = []
    for name in names:
        found = [r for r in records if r.case == name]
        native = next((r.contender for r in found if r.kind == "native"), None)
        best = _largest_ok(found, native) if native is not None else None
        if best is None:
            size = max(r.size for r in found)
            rows.append([name, format_size(size), "-", *("-" for _ in others)])
            continue
        rows.append([name, format_size(best.size), format_seconds(best.median_s),
                     *(_ratio_cell(found, other, best.size) for other in others)])
    return others, rows


def summary_table(records: Sequence[Record], cases: Sequence[Case]) -> Table | None:
    """The rich table of :func:`summary_rows`; None when there are no records."""
    summary = summary_rows(records, cases)
    if summary is None:
        return None
    others, rows = summary
    table = Table(
        title="[bold]summary[/bold]  [dim]r3d's time at the largest size measured; the others' "
        "time over r3d's[/dim]",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("case", no_wrap=True, min_width=max(len(row[0]) for row in rows))
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("r3d", justify="right", no_wrap=True)
    for other in others:
        table.add_column(other, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


SCALING_LEGEND = (
    "time of one call on each thread count; efficiency: m t_m / (n t_n) against the fewest "
    "threads m (t1 / (n tn) from 1 thread): 1 is perfect scaling, below 1/n slower than on m "
    "threads"
)


def scaling_rows(records: Sequence[Record]) -> tuple[list[int], list[list[str]]] | None:
    """The thread scaling of a run that named thread counts: (the counts, one row per case,
    size and contender measured on every count: case, size, contender, its median time on each
    count, then its efficiency on each count but the first). None without such records."""
    counts = sorted({r.threads for r in records if r.threads is not None})
    if not counts:
        return None
    rows = []
    for case, size, contender in dict.fromkeys((r.case, r.size, r.contender) for r in records):
        got = {r.threads: r for r in records if (r.case, r.size, r.contender) ==
               (case, size, contender) and r.status == "ok"}
        if set(got) != set(counts):
            continue
        rows.append([case, format_size(size), contender,
                     *(format_seconds(got[n].median_s) for n in counts),
                     *(f"{got[n].efficiency:.0%}" for n in counts[1:])])
    return counts, rows


def scaling_table(records: Sequence[Record]) -> Table | None:
    """The rich table of :func:`scaling_rows`; None when the run named no thread counts."""
    scaling = scaling_rows(records)
    if scaling is None:
        return None
    counts, rows = scaling
    table = Table(
        title="[bold]thread scaling[/bold]  [dim]time per thread count and efficiency[/dim]",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("case", "size", "contender"):
        table.add_column(column, justify="right" if column == "size" else "left", no_wrap=True)
    for n in counts:
        table.add_column(f"{n} thr", justify="right")
    for n in counts[1:]:
        table.add_column(f"eff. {n}", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def json_document(
    records: Sequence[Record],
    cases: Sequence[Case],
    settings: Settings,
    machine: dict,
    interrupted: bool = False,
) -> dict:
    """The JSON report: the machine, the settings, the cases and every record's raw figures."""
    return {
        "schema": JSON_SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "machine": machine,
        "settings": settings.to_json(),
        "cases": [
            {
                "name": c.name,
                "description": c.description,
                "size_label": c.size_label,
                "sizes": list(settings.sizes(c)),
                "contenders": [{"name": k.name, "kind": k.kind} for k in c.contenders],
                "meta": c.meta,
            }
            for c in cases
        ],
        "results": [r.to_json() for r in records],
    }


_STYLES = {"native": ("o", "-"), "torch": ("s", "--"), "peer": ("^", ":")}


def plot(
    records: Sequence[Record], cases: Sequence[Case], path: str | Path, title: str = ""
) -> None:
    """Draws median time against problem size, one log-log panel per case and one line per
    contender (the bars span the interquartile range), and saves it as a PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [c.name for c in cases if any(r.case == c.name for r in records)]
    labels = {c.name: c.size_label for c in cases}
    ncols = min(2, max(1, len(names)))
    nrows = max(1, math.ceil(len(names) / ncols))
    fig = Figure(figsize=(6 * ncols, 4.2 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        rows = [r for r in records if r.case == name and r.status == "ok"]
        for contender in dict.fromkeys(contender_label(r) for r in rows):
            pts = sorted((r for r in rows if contender_label(r) == contender),
                         key=lambda r: r.size)
            marker, line = _STYLES.get(pts[0].kind, ("x", "-"))
            x = [r.size for r in pts]
            y = [r.median_s for r in pts]
            err = [[r.median_s - r.q25_s for r in pts], [r.q75_s - r.median_s for r in pts]]
            ax.errorbar(x, y, yerr=err, marker=marker, linestyle=line, capsize=3, label=contender)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel(labels.get(name, "size"))
        ax.set_ylabel("median time per call (s)")
        ax.grid(True, which="both", alpha=0.3)
        if rows:
            ax.legend()
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.savefig(Path(path), format="png", dpi=110)
