"""Presenting benchmark records: a rich table, a JSON document and a log-log plot."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
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


def results_tables(records: Sequence[Record], cases: Sequence[Case]) -> list[Table]:
    """One rich table per case in ``records``: a row per size and contender with the median
    time, the spread (interquartile range, relative to the median), the time ratio to r3d
    native (above 1: native is faster), the peak memory and its ratio to native's.

    Contenders skipped at some sizes or that failed are listed under the table; those that
    could not run at all (unavailable) are not: :func:`unavailable_line` says it once per run.
    """
    tables = []
    for case in cases:
        rows = [r for r in records if r.case == case.name]
        if not rows:
            continue
        table = Table(
            title=f"[bold]{case.name}[/bold]  [dim]{case.description}[/dim]",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        table.add_column(case.size_label, justify="right")
        table.add_column("contender")
        table.add_column("median", justify="right")
        table.add_column("spread", justify="right")
        table.add_column("time/r3d", justify="right")
        table.add_column("peak mem", justify="right")
        table.add_column("mem/r3d", justify="right")
        missing: dict[str, str] = {}
        previous = None
        for r in rows:
            if r.status != "ok":
                if r.status != "unavailable":
                    missing.setdefault(r.contender, f"{r.status}: {r.reason}")
                continue
            if previous is not None and r.size != previous:
                table.add_section()
            size = format_size(r.size) if r.size != previous else ""
            previous = r.size
            name = f"[cyan]{r.contender}[/cyan]" if r.kind == "native" else r.contender
            rel = (
                f"{100 * r.spread_s / r.median_s:.1f}%"
                if r.median_s and r.spread_s is not None else "-"
            )
            mem = "[dim]failed[/dim]" if r.memory_error else format_bytes(r.peak_memory_bytes)
            table.add_row(
                size, name, format_seconds(r.median_s), rel, format_ratio(r.ratio_vs_native),
                mem, format_ratio(r.memory_ratio_vs_native),
            )
        if missing:
            table.caption = "not measured: " + "; ".join(
                f"{name} ({why})" for name, why in missing.items()
            )
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


def summary_table(records: Sequence[Record], cases: Sequence[Case]) -> Table | None:
    """One row per case in ``records``: the largest size r3d's native kernel was measured at,
    its median time there and every other contender's time over it at that size (above 1: r3d
    is faster), or at the largest size that contender ran when smaller ("3.2× @256").
    None when there are no records."""
    names = [c.name for c in cases if any(r.case == c.name for r in records)]
    if not names:
        return None
    others = list(dict.fromkeys(
        r.contender for r in records if r.kind != "native" and r.case in names
    ))
    table = Table(
        title="[bold]summary[/bold]  [dim]r3d's time at the largest size measured; the others' "
        "time over r3d's[/dim]",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("case", no_wrap=True, min_width=max(len(n) for n in names))
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("r3d", justify="right", no_wrap=True)
    for other in others:
        table.add_column(other, justify="right")
    for name in names:
        rows = [r for r in records if r.case == name]
        native = next((r.contender for r in rows if r.kind == "native"), None)
        best = _largest_ok(rows, native) if native is not None else None
        if best is None:
            size = max(r.size for r in rows)
            table.add_row(name, format_size(size), "-", *("-" for _ in others))
            continue
        table.add_row(
            name, format_size(best.size), format_seconds(best.median_s),
            *(_ratio_cell(rows, other, best.size) for other in others),
        )
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
        for contender in dict.fromkeys(r.contender for r in rows):
            pts = sorted((r for r in rows if r.contender == contender), key=lambda r: r.size)
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
