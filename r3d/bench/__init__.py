"""Side-by-side benchmarks of r3d's native kernels against their pure-PyTorch twins and peers.

Cases are declared with :func:`register_case` in the package :mod:`r3d.bench.cases`, one module
per op family (see ``r3d/bench/cases/packing.py``), and run by ``r3d bench`` or from Python::

    from r3d.bench import Settings, iter_measurements, select_cases

    settings = Settings.make("cpu", quick=True)
    for records in iter_measurements(select_cases(["packed*"]), settings):
        for r in records:
            print(r.case, r.size, r.contender, r.median_s, r.ratio_vs_native)

``Settings.make("cpu", load=2)`` measures with two background processes loading the CPU (see
:class:`BackgroundLoad`), as on a machine shared with other jobs.
"""

from r3d.bench.load import BackgroundLoad
from r3d.bench.registry import Case, Contender, all_cases, get_case, register_case, select_cases
from r3d.bench.runner import Record, Settings, iter_measurements, measure
from r3d.bench.timing import Summary, median, quantile, spread, time_interleaved
from r3d.runs.machine import machine_info

__all__ = [
    "BackgroundLoad",
    "Case",
    "Contender",
    "Record",
    "Settings",
    "Summary",
    "all_cases",
    "get_case",
    "iter_measurements",
    "machine_info",
    "measure",
    "median",
    "quantile",
    "register_case",
    "select_cases",
    "spread",
    "time_interleaved",
]
