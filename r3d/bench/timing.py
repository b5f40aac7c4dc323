"""Wall-clock timing of several contenders, interleaved, and the statistics reported on it."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import torch

from r3d.errors import InputError


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) of ``values`` with linear interpolation between order
    statistics (NumPy's default method)."""
    if not values:
        raise InputError("quantile: values must not be empty")
    if not 0.0 <= q <= 1.0:
        raise InputError(f"quantile: q must be in [0, 1], got {q}")
    xs = sorted(float(v) for v in values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the mean of the two middle values for an even count)."""
    return quantile(values, 0.5)


def spread(values: Sequence[float]) -> float:
    """The interquartile range of ``values`` (75th minus 25th percentile): how much repeats
    of one measurement disagree, robust to the odd outlier."""
    return quantile(values, 0.75) - quantile(values, 0.25)


@dataclass(frozen=True)
class Summary:
    """Statistics of the per-call times of one contender, in seconds."""

    median: float
    spread: float
    q25: float
    q75: float
    min: float
    max: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summarizes ``samples`` (at least one value)."""
        return cls(
            median=median(samples),
            spread=spread(samples),
            q25=quantile(samples, 0.25),
            q75=quantile(samples, 0.75),
            min=float(min(samples)),
            max=float(max(samples)),
            count=len(samples),
        )


def synchronizer(device: torch.device) -> Callable[[], None]:
    """A function that waits for ``device`` to finish its queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


@dataclass
class Timing:
    """The outcome of timing one contender: per-call sample times, or the error it raised."""

    samples: list[float]
    number: int = 1  # calls per sample
    error: BaseException | None = None


def _sample(fn: Callable[[], object], number: int, sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    for _ in range(number):
        fn()
    sync()
    return (time.perf_counter() - start) / number


# A first call this many times ``min_sample_time`` long means one call per sample, no calibration
SLOW_FIRST_CALL = 10


def _calibrate(
    fn: Callable[[], object],
    sync: Callable[[], None],
    min_sample_time: float,
    max_number: int,
    first_call: float,
) -> int:
    """Calls per sample so that one sample lasts at least ``min_sample_time`` (like timeit).

    ``first_call`` is how long the first call lasted: when it is far above ``min_sample_time``
    the answer is 1 without another call (a slow contender costs one call less)."""
    if first_call >= SLOW_FIRST_CALL * min_sample_time:
        return 1
    number = 1
    while True:
        per_call = _sample(fn, number, sync)
        if per_call * number >= min_sample_time or number >= max_number:
            return number
        want = min_sample_time / max(per_call, 1e-9)
        number = min(max_number, max(number * 2, math.ceil(want * 1.2)))


def time_interleaved(
    fns: Mapping[Hashable, Callable[[], object]],
    device: torch.device,
    *,
    repeats: int,
    warmup: int = 1,
    min_sample_time: float = 0.01,
    max_number: int = 10_000,
    on_sample: Callable[[], None] | None = None,
) -> dict[Hashable, Timing]:
    """Times each function in ``fns`` (keyed by any name: a contender, or a contender and its
    thread count) ``repeats`` times, interleaving the contenders.

    Each function is first called once, then calibrated: a sample calls it ``number`` times so
    that a sample lasts at least ``min_sample_time`` seconds, and reports the mean per call (a
    function whose first call lasted ``SLOW_FIRST_CALL`` times that takes 1 without calibrating);
    ``warmup - 1`` more untimed samples follow. Then
    repeat r times every contender once, the order rotated by r so no contender always follows
    the same other one; drifts of the machine (clock, other load) thus touch all contenders
    alike. On CUDA the device is synchronized before and after every sample. The garbage
    collector is paused during samples. A contender that raises is dropped from later repeats
    and its exception kept in ``Timing.error``.

    Returns:
        {name: Timing} with ``repeats`` per-call times in seconds for each contender.
    """
    if repeats < 1:
        raise InputError(f"time_interleaved: repeats must be at least 1, got {repeats}")
    sync = synchronizer(device)
    results = {name: Timing(samples=[]) for name in fns}
    for name, fn in fns.items():
        try:
            first = _sample(fn, 1, sync)  # first call: lazy initialisations, caches
            results[name].number = _calibrate(fn, sync, min_sample_time, max_number, first)
            for _ in range(max(0, warmup - 1)):
                _sample(fn, results[name].number, sync)
        except Exception as exc:  # noqa: BLE001 - reported per contender
            results[name].error = exc
    names = [n for n in fns if results[n].error is None]
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            k = r % len(names) if names else 0
            for name in names[k:] + names[:k]:
                timing = results[name]
                if timing.error is not None:
                    continue
                try:
                    timing.samples.append(_sample(fns[name], timing.number, sync))
                except Exception as exc:  # noqa: BLE001 - reported per contender
                    timing.error = exc
            if on_sample is not None:
                on_sample()
    finally:
        if gc_was_enabled:
            gc.enable()
    return results
