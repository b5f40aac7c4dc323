"""Running benchmark cases: settings and per-contender records."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import torch

from r3d.bench import memory, timing
from r3d.bench.load import BackgroundLoad, check_process_count
from r3d.bench.registry import Case, Contender
from r3d.errors import InputError
from r3d.runs.devices import resolve_device


@dataclass(frozen=True)
class Settings:
    """How a run measures.

    Args:
        device: where the inputs live and the contenders run.
        quick: smallest sizes only, few repeats.
        repeats: timed samples per contender and size.
        warmup: untimed samples per contender before the first timed one (at least 1).
        min_sample_time: a sample repeats the call until it lasts this long (seconds).
        memory: whether to measure peak memory.
        load: background load processes running during the measurements (see
            :class:`r3d.bench.load.BackgroundLoad`); 0 for none.
        threads: torch thread counts (hence the native launchers') at which every contender
            is measured, interleaved, with each one's scaling efficiency
            (:attr:`Record.efficiency`); empty: torch's count as it is, no scaling figures.
        only_sizes: the sizes measured in every case instead of its own grid; empty: the grid.
        only_contenders: the names of the contenders measured; empty: every contender.
    """

    device: torch.device
    quick: bool = False
    repeats: int = 9
    warmup: int = 2
    min_sample_time: float = 0.02
    memory: bool = True
    load: int = 0
    threads: tuple[int, ...] = ()
    only_sizes: tuple[int, ...] = ()
    only_contenders: tuple[str, ...] = ()

    @classmethod
    def make(
        cls,
        device: str | torch.device = "cpu",
        quick: bool = False,
        repeats: int | None = None,
        memory: bool = True,
        load: int = 0,
        threads: Sequence[int] = (),
        sizes: Sequence[int] = (),
        contenders: Sequence[str] = (),
    ) -> Settings:
        """Default settings of a full or ``quick`` run on ``device`` (checked to be usable),
        measuring at each of ``threads``, only ``sizes`` and only ``contenders`` when given."""
        dev = resolve_device(device)
        if repeats is not None and repeats < 1:
            raise InputError(f"repeats must be at least 1, got {repeats}")
        check_process_count(load)
        filters = (
            _positive_ints("threads", threads), _positive_ints("sizes", sizes),
            tuple(dict.fromkeys(contenders)),
        )
        if quick:
            return cls(dev, True, repeats or 3, 1, 0.002, memory, load, *filters)
        return cls(dev, False, repeats or 9, 2, 0.02, memory, load, *filters)

    def sizes(self, case: Case) -> tuple[int, ...]:
        """The sizes of ``case`` this run measures."""
        if self.only_sizes:
            return self.only_sizes
        return case.quick_sizes if self.quick else case.sizes

    def contenders(self, case: Case) -> list[Contender]:
        """The contenders of ``case`` this run measures."""
        return [c for c in case.contenders
                if not self.only_contenders or c.name in self.only_contenders]

    def to_json(self) -> dict:
        """The settings as JSON-ready values."""
        d = asdict(self)
        d["device"] = str(self.device)
        return d


def _positive_ints(what: str, values: Sequence[int]) -> tuple[int, ...]:
    """``values`` without repeats, in order; InputError unless each is an int >= 1."""
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"{what}: expected whole numbers >= 1, got {v!r}")
    return tuple(dict.fromkeys(values))


def check_contender_names(cases: Sequence[Case], names: Sequence[str]) -> None:
    """InputError naming each of ``names`` that is no contender of any of ``cases``."""
    known = {c.name for case in cases for c in case.contenders}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"no selected case has the contender(s) {', '.join(unknown)}; they "
                         f"have {', '.join(sorted(known))}")




@dataclass
class Record:
    """The figures of one contender on one case at one size (times in seconds, memory in bytes).

    ``status`` is "ok", "unavailable" (not installed, no kernel for the device: see ``reason``),
    "skipped" (the size is above the contender's ``max_size`` or ``cpu_max_size``)
    or "error" (it raised: see ``reason``). Ratios are this contender's figure divided by the
    native contender's at the same thread count (above 1: r3d native is faster / leaner).
    ``threads`` is torch's thread count of the measurement when the run names thread counts
    (:attr:`Settings.threads`), else None; ``efficiency`` is then the scaling efficiency
    m t_m / (n t_n) of this record's n threads against the same contender on the fewest, m
    (t1 / (n tn) when m is 1; 1 means perfect scaling, below 1 / n: slower than on m threads).
    """

    case: str
    size: int
    contender: str
    kind: str
    status: str = "ok"
    reason: str | None = None
    median_s: float | None = None
    spread_s: float | None = None
    q25_s: float | None = None
    q75_s: float | None = None
    min_s: float | None = None
    max_s: float | None = None
    calls_per_sample: int | None = None
    samples_s: list[float] = field(default_factory=list)
    ratio_vs_native: float | None = None
    peak_memory_bytes: int | None = None
    memory_method: str | None = None
    memory_error: str | None = None
    memory_ratio_vs_native: float | None = None
    threads: int | None = None
    efficiency: float | None = None

    def to_json(self) -> dict:
        """The record as JSON-ready values."""
        return asdict(self)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """torch's thread count set to ``threads`` for the block (left as it is for None)."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _at_threads(threads: int, run: Callable, arg: object) -> object:
    """``run(arg)`` on ``threads`` torch threads (left set: the next call sets its own)."""
    torch.set_num_threads(threads)
    return run(arg)


# (contender name, thread count or None): a record's key within one measurement
_Key = tuple[str, int | None]


def measure(
    case: Case,
    size: int,
    settings: Settings,
    status: Callable[[str], None] | None = None,
    probe: memory.CpuProbe | None = None,
) -> list[Record]:
    """Times (and measures the memory of) every contender of ``case`` this run measures at
    ``size``, at each of the run's thread counts (interleaved: one timing of every contender at
    every count in turn), with their scaling efficiencies.

    ``status`` is told in a few words what is happening (for a progress display). ``probe``
    measures CPU memory (a temporary one is made when None and memory is measured).
    """
    say = status or (lambda _msg: None)
    label = f"{case.name} {size:,} {case.size_label}"
    counts: tuple[int | None, ...] = settings.threads or (None,)
    contenders = settings.contenders(case)
    records: dict[_Key, Record] = {
        (c.name, t): Record(case.name, size, c.name, c.kind, threads=t)
        for c in contenders for t in counts
    }
    runnable: dict[_Key, Callable[[], object]] = {}
    runs: dict[_Key, tuple[Callable, object]] = {}
    say(f"{label}: setup")
    inputs = case.setup(size, settings.device)
    for c in contenders:
        reason = c.unavailable_reason(settings.device)
        status_reason = ("unavailable", reason)
        if reason is None:
            reason = c.size_limit_reason(size, settings.device, case.size_label)
            status_reason = ("skipped", reason)
        if reason is None:
            try:
                arg = c.prepared(inputs)
            except Exception as exc:  # noqa: BLE001 - reported per contender
                status_reason = ("error", _describe(exc))
        if status_reason[1] is not None:
            for t in counts:
                records[c.name, t].status, records[c.name, t].reason = status_reason
            continue
        for t in counts:
            runs[c.name, t] = (c.run, arg)
            runnable[c.name, t] = functools.partial(c.run, arg) if t is None \
                else functools.partial(_at_threads, t, c.run, arg)

    done = [0]

    def on_sample() -> None:
        done[0] += 1
        say(f"{label}: timing {done[0]}/{settings.repeats}")

    say(f"{label}: warm-up")
    with _torch_threads(None):  # the timed calls set the thread count: restore it after
        timings = timing.time_interleaved(
            runnable,
            settings.device,
            repeats=settings.repeats,
            warmup=settings.warmup,
            min_sample_time=settings.min_sample_time,
            on_sample=on_sample,
        )
    for key, t in timings.items():
        rec = records[key]
        if t.error is not None:
            rec.status, rec.reason = "error", _describe(t.error)
            continue
        s = timing.Summary.of(t.samples)
        rec.median_s, rec.spread_s, rec.q25_s, rec.q75_s = s.median, s.spread, s.q25, s.q75
        rec.min_s, rec.max_s = s.min, s.max
        rec.calls_per_sample, rec.samples_s = t.number, list(t.samples)

    if settings.memory:
        for key, (run, arg) in runs.items():
            if records[key].status == "ok":
                say(f"{label}: memory of {key[0]}")
                with _torch_threads(key[1]):
                    _measure_memory(records[key], case, size, settings, (run, arg), probe)
    del inputs, runs, runnable
    gc.collect()
    if settings.device.type == "cuda":
        torch.cuda.empty_cache()

    out = list(records.values())
    _add_ratios(out)
    _add_efficiencies(out)
    return out


def _measure_memory(
    rec: Record, case: Case, size: int, settings: Settings, run: tuple[Callable, object],
    probe: memory.CpuProbe | None,
) -> None:
    """Sets the peak memory figures of ``rec`` from one call of ``run`` = (function, arg)."""
    if settings.device.type == "cuda":
        try:
            fig = memory.cuda_peak(*run, settings.device)
        except Exception as exc:  # noqa: BLE001 - reported per contender
            fig = memory.MemoryFigure(None, None, _describe(exc))
    elif probe is None:
        with memory.CpuProbe() as own:
            fig = own.measure(case, size, rec.contender)
    else:
        fig = probe.measure(case, size, rec.contender)
    rec.peak_memory_bytes, rec.memory_method, rec.memory_error = (
        fig.peak_bytes, fig.method, fig.error,
    )


def _ratio(value: float | int | None, base: float | int | None) -> float | None:
    if value is None or base is None or base <= 0:
        return None
    return float(value) / float(base)


def _add_ratios(records: Sequence[Record]) -> None:
    """Each ok record's time and memory over the native contender's at its thread count."""
    for r in records:
        native = next((n for n in records if n.kind == "native" and n.status == "ok"
                       and n.threads == r.threads), None)
        if native is None or r.status != "ok":
            continue
        r.ratio_vs_native = _ratio(r.median_s, native.median_s)
        r.memory_ratio_vs_native = _ratio(r.peak_memory_bytes, native.peak_memory_bytes)


def _add_efficiencies(records: Sequence[Record]) -> None:
    """Each ok record's scaling efficiency against its contender on the fewest threads."""
    timed = [r for r in records if r.status == "ok" and r.threads is not None and r.median_s]
    for r in timed:
        base = min((b for b in timed if b.contender == r.contender), key=lambda b: b.threads)
        r.efficiency = base.threads * base.median_s / (r.threads * r.median_s)


def iter_measurements(
    cases: Sequence[Case], settings: Settings, status: Callable[[str], None] | None = None
) -> Iterator[list[Record]]:
    """Yields the records of each (case, size) in turn, cases in order, sizes ascending, with
    ``settings.load`` background load processes running throughout.

    Stopping the iteration early (Ctrl-C, an error, closing the generator) keeps everything
    yielded so far intact and stops the load processes. The objects alive when it starts are
    frozen out of the garbage collector's scans meanwhile (each measurement collects garbage
    twice; with torch imported a full scan takes a tenth of a second).
    """
    if settings.load and status is not None:
        status(f"starting {settings.load} background load processes")
    gc.collect()
    gc.freeze()
    try:
        with memory.CpuProbe() as probe, BackgroundLoad(settings.load):
            for case in cases:
                for size in settings.sizes(case):
                    yield measure(case, size, settings, status, probe)
    finally:
        gc.unfreeze()
