"""The HTML page of a benchmark run (``r3d bench --html PATH``): the text report's tables (the
rows of :mod:`r3d.bench.report`), interactive charts of time against size, the settings and the
machine, in one self-contained file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from r3d.bench.registry import Case
from r3d.bench.report import (
    RESULT_COLUMNS,
    RESULTS_LEGEND,
    SUMMARY_LEGEND,
    case_rows,
    summary_rows,
    unavailable_line,
)
from r3d.bench.runner import Record, Settings
from r3d.vis.report import Report, Series

__all__ = ["write_bench_page"]


def _time_chart(records: Sequence[Record], case: Case) -> tuple[str, list[Series], dict]:
    """The median time of each contender against log10 of the size (log scale)."""
    ok = sorted((r for r in records if r.case == case.name and r.status == "ok"),
                key=lambda r: r.size)
    series = [Series(name, [math.log10(r.size) for r in ok if r.contender == name],
                     [r.median_s for r in ok if r.contender == name])
              for name in dict.fromkeys(r.contender for r in ok)]
    return (f"{case.name}: median time per call (s, log scale)", series,
            {"log_y": True, "xlabel": f"log10 {case.size_label}"})


def write_bench_page(path: str | Path, records: Sequence[Record], cases: Sequence[Case],
                     settings: Settings, machine: dict, title: str,
                     interrupted: bool = False) -> Path:
    """Writes the page of ``records`` to ``path`` (atomically); returns the path.

    Args:
        cases: the cases of the run (those without records are left out).
        machine: :func:`r3d.runs.machine.machine_info`.
        title: the text report's header (machine, device, threads, quick, load).
        interrupted: the run was stopped before it measured everything.
    """
    report = Report("r3d bench", title)
    if interrupted:
        report.paragraph("Interrupted: the figures below are those measured before the stop.")
    measured = [case for case in cases if any(r.case == case.name for r in records)]
    summary = summary_rows(records, cases)
    if summary is not None:
        others, rows = summary
        report.heading("Summary").table(rows, ["case", "size", "r3d", *others])
        report.paragraph(SUMMARY_LEGEND)
    unavailable = unavailable_line(records, cases)
    if unavailable is not None:
        report.paragraph(unavailable)
    if measured:
        report.heading("Time against size").charts([_time_chart(records, c) for c in measured])
    for case in measured:
        rows, note = case_rows(records, case)
        report.heading(case.name).paragraph(case.description)
        report.table([[row.size, row.contender, row.median, row.spread, row.time_ratio,
                       row.memory, row.memory_ratio] for row in rows],
                     [case.size_label, *RESULT_COLUMNS])
        if note is not None:
            report.paragraph(note)
    if measured:
        report.paragraph(RESULTS_LEGEND)
    report.heading("Settings").table(list(settings.to_json().items()), ("setting", "value"))
    report.machine(machine)
    return report.write(path)
