"""Running benchmark cases: settings and per-contender records."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import torch

from r3d.bench import memory, timing
from r3d.bench.load import BackgroundLoad, check_process_count
from r3d.bench.registry import Case
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
    """

    device: torch.device
    quick: bool = False
    repeats: int = 9
    warmup: int = 2
    min_sample_time: float = 0.02
    memory: bool = True
    load: int = 0

    @classmethod
    def make(
        cls,
        device: str | torch.device = "cpu",
        quick: bool = False,
        repeats: int | None = None,
        memory: bool = True,
        load: int = 0,
    ) -> Settings:
        """Default settings of a full or ``quick`` run on ``device`` (checked to be usable)."""
        dev = resolve_device(device)
        if repeats is not None and repeats < 1:
            raise InputError(f"repeats must be at least 1, got {repeats}")
        check_process_count(load)
        if quick:
            return cls(dev, True, repeats or 3, 1, 0.002, memory, load)
        return cls(dev, False, repeats or 9, 2, 0.02, memory, load)

    def sizes(self, case: Case) -> tuple[int, ...]:
        """The sizes of ``case`` this run measures."""
        return case.quick_sizes if self.quick else case.sizes

    def to_json(self) -> dict:
        """The settings as JSON-ready values."""
        d = asdict(self)
        d["device"] = str(self.device)
        return d




@dataclass
class Record:
    """The figures of one contender on one case at one size (times in seconds, memory in bytes).

    ``status`` is "ok", "unavailable" (not installed, no kernel for the device: see ``reason``),
    "skipped" (the size is above the contender's ``max_size`` or ``cpu_max_size``)
    or "error" (it raised: see ``reason``). Ratios are this contender's figure divided by the
    native contender's (above 1: r3d native is faster / leaner).
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

    def to_json(self) -> dict:
        """The record as JSON-ready values."""
        return asdict(self)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def measure(
    case: Case,
    size: int,
    settings: Settings,
    status: Callable[[str], None] | None = None,
    probe: memory.CpuProbe | None = None,
) -> list[Record]:
    """Times (and measures the memory of) every contender of ``case`` at ``size``.

    ``status`` is told in a few words what is happening (for a progress display). ``probe``
    measures CPU memory (a temporary one is made when None and memory is measured).
    """
    say = status or (lambda _msg: None)
    label = f"{case.name} {size:,} {case.size_label}"
    records = {c.name: Record(case.name, size, c.name, c.kind) for c in case.contenders}
    runnable: dict[str, Callable[[], object]] = {}
    runs: dict[str, tuple[Callable, object]] = {}
    say(f"{label}: setup")
    inputs = case.setup(size, settings.device)
    for c in case.contenders:
        reason = c.unavailable_reason(settings.device)
        if reason is not None:
            records[c.name].status, records[c.name].reason = "unavailable", reason
            continue
        reason = c.size_limit_reason(size, settings.device, case.size_label)
        if reason is not None:
            records[c.name].status, records[c.name].reason = "skipped", reason
            continue
        try:
            arg = c.prepared(inputs)
        except Exception as exc:  # noqa: BLE001 - reported per contender
            records[c.name].status, records[c.name].reason = "error", _describe(exc)
            continue
        runs[c.name] = (c.run, arg)
        runnable[c.name] = functools.partial(c.run, arg)

    done = [0]

    def on_sample() -> None:
        done[0] += 1
        say(f"{label}: timing {done[0]}/{settings.repeats}")

    say(f"{label}: warm-up")
    timings = timing.time_interleaved(
        runnable,
        settings.device,
        repeats=settings.repeats,
        warmup=settings.warmup,
        min_sample_time=settings.min_sample_time,
        on_sample=on_sample,
    )
    for name, t in timings.items():
        rec = records[name]
        if t.error is not None:
            rec.status, rec.reason = "error", _describe(t.error)
            continue
        s = timing.Summary.of(t.samples)
        rec.median_s, rec.spread_s, rec.q25_s, rec.q75_s = s.median, s.spread, s.q25, s.q75
        rec.min_s, rec.max_s = s.min, s.max
        rec.calls_per_sample, rec.samples_s = t.number, list(t.samples)

    if settings.memory:
        for name, (run, arg) in runs.items():
            if records[name].status != "ok":
                continue
            say(f"{label}: memory of {name}")
            if settings.device.type == "cuda":
                try:
                    fig = memory.cuda_peak(run, arg, settings.device)
                except Exception as exc:  # noqa: BLE001 - reported per contender
                    fig = memory.MemoryFigure(None, None, _describe(exc))
            elif probe is None:
                with memory.CpuProbe() as own:
                    fig = own.measure(case, size, name)
            else:
                fig = probe.measure(case, size, name)
            rec = records[name]
            rec.peak_memory_bytes, rec.memory_method, rec.memory_error = (
                fig.peak_bytes, fig.method, fig.error,
            )
    del inputs, runs, runnable
    gc.collect()
    if settings.device.type == "cuda":
        torch.cuda.empty_cache()

    out = list(records.values())
    _add_ratios(out)
    return out


def _ratio(value: float | int | None, base: float | int | None) -> float | None:
    if value is None or base is None or base <= 0:
        return None
    return float(value) / float(base)


def _add_ratios(records: Sequence[Record]) -> None:
    native = next((r for r in records if r.kind == "native" and r.status == "ok"), None)
    for r in records:
        if native is None or r.status != "ok":
            continue
        r.ratio_vs_native = _ratio(r.median_s, native.median_s)
        r.memory_ratio_vs_native = _ratio(r.peak_memory_bytes, native.peak_memory_bytes)


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
