"""The fuzzing loop: mutated seeds sent to worker processes, outcomes tallied, findings saved.

Input ``i`` of format ``F`` in a run with seed ``S`` is drawn from ``random.Random(f"{S}/{F}/{i}")``
alone (which seed file, which mutations), so a run is reproducible from its seed, and one input
from (seed, format, index) whatever ran before it. Each worker has one input in flight; one that
has not answered within :data:`~fuzzing.oracle.TIME_LIMIT` seconds is killed and the input run
again in a fresh worker, and only a second timeout is a ``hang`` (so that a moment of contention
on a shared machine is not reported as a hang). A worker that dies (a crash of native code, the
kernel's OOM killer) makes its input a ``crash``.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from fuzzing.formats import FORMATS
from fuzzing.mutate import mutate
from fuzzing.oracle import TIME_LIMIT, Outcome
from fuzzing.worker import serve

__all__ = ["Finding", "Job", "Run", "generate", "mutated_inputs", "run", "write_json"]

_START_TIMEOUT = 300.0  # seconds a worker may take to import torch and r3d and warm up
RESULTS = ("ok", "error", "crash", "hang", "memory")
Job = tuple[str, int, str, bytes]  # format, index, where the input came from, its bytes


def generate(seeds: list[tuple[str, bytes]], fmt: str, seed: int, index: int) -> tuple[str,
                                                                                         bytes]:
    """(seed file name, input bytes) of input ``index`` of format ``fmt`` in run ``seed``."""
    rng = random.Random(f"{seed}/{fmt}/{index}")
    name, data = rng.choice(seeds)
    return name, mutate(rng, data, FORMATS[fmt].kind)


@dataclass(frozen=True)
class Finding:
    """An input that crashed, hung or blew up memory, and where it came from."""

    format: str
    seed: int
    index: int
    seed_file: str
    outcome: Outcome
    file: str  # where the input was saved

    @property
    def signature(self) -> tuple[str, str, str]:
        """What groups findings of one cause: format, result and the place (or message)."""
        return self.format, self.outcome.result, (self.outcome.where
                                                  or self.outcome.detail.split(":")[0])


@dataclass
class Run:
    """Tallies of a run: ``counts[format][result]``, the largest rise of the resident set
    and the longest load per format, the findings."""

    counts: dict[str, Counter] = field(default_factory=dict)
    peak_bytes: Counter = field(default_factory=Counter)
    slowest: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, fmt: str, outcome: Outcome) -> None:
        self.counts.setdefault(fmt, Counter())[outcome.result] += 1
        self.peak_bytes[fmt] = max(self.peak_bytes[fmt], outcome.peak_bytes)
        self.slowest[fmt] = max(self.slowest.get(fmt, 0.0), outcome.seconds)

    @property
    def inputs(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def distinct(self) -> list[Finding]:
        """The first finding of each signature."""
        firsts: dict[tuple, Finding] = {}
        for f in self.findings:
            firsts.setdefault(f.signature, f)
        return list(firsts.values())

    def table(self) -> str:
        """The per-format summary: inputs, ok, r3d errors, crashes, hangs, memory blow-ups, the
        largest rise of the resident set (MiB) and the longest load (s) of an answered input."""
        rows = [("format", "inputs", "ok", "r3d-error", "crash", "hang", "memory", "peak-MiB",
                 "max-s")]
        total = Counter()
        for fmt, c in self.counts.items():
            rows.append((fmt, sum(c.values()), *(c[r] for r in RESULTS),
                         f"{self.peak_bytes[fmt] / 2**20:.1f}", f"{self.slowest[fmt]:.2f}"))
            total.update(c)
        rows.append(("total", sum(total.values()), *(total[r] for r in RESULTS),
                     f"{max(self.peak_bytes.values(), default=0) / 2**20:.1f}",
                     f"{max(self.slowest.values(), default=0.0):.2f}"))
        return "\n".join(f"{r[0]:<16}" + "".join(f"{v:>10}" for v in r[1:]) for r in rows)

    def summary(self) -> dict:
        """The run as plain data (the ``--json`` file)."""
        return {
            "seconds": round(self.seconds, 1),
            "inputs": self.inputs,
            "formats": {fmt: {r: c[r] for r in RESULTS} | {
                "inputs": sum(c.values()), "peak_bytes": self.peak_bytes[fmt],
                "max_seconds": round(self.slowest[fmt], 3)} for fmt, c in self.counts.items()},
            "findings": [{"format": f.format, "seed": f.seed, "index": f.index,
                          "seed_file": f.seed_file, "result": f.outcome.result,
                          "detail": f.outcome.detail, "where": f.outcome.where, "file": f.file}
                         for f in self.findings],
        }


class _Worker:
    """A worker process and the input it is running."""

    def __init__(self, context, warm_up: dict[str, bytes]) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child, warm_up), daemon=True)
        self.process.start()
        child.close()
        try:
            ready = self.conn.poll(_START_TIMEOUT) and self.conn.recv() == "ready"
        except (EOFError, ConnectionError):
            ready = False
        if not ready:
            self.stop()
            raise RuntimeError(f"a fuzzing worker did not start (exit code "
                               f"{self.process.exitcode})")
        self.job: tuple | None = None
        self.deadline = 0.0

    def submit(self, job: tuple, fmt: str, data: bytes) -> None:
        self.job = job
        self.conn.send((fmt, data))
        self.deadline = time.monotonic() + TIME_LIMIT

    def answer(self) -> Outcome:
        """The outcome of the job in flight (a crash when the worker died)."""
        try:
            return self.conn.recv()
        except (EOFError, ConnectionError):
            self.process.join(5)
            return Outcome("crash", f"the worker died (exit code {self.process.exitcode})",
                           "worker died")

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


def _save(out: Path, fmt: str, seed: int, index: int, outcome: Outcome, data: bytes) -> str:
    folder = out / fmt
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{outcome.result}-{seed}-{index}{Path(FORMATS[fmt].file).suffix}"
    path.write_bytes(data)
    return str(path)


def mutated_inputs(seeds: dict[str, list[tuple[str, bytes]]], seed: int,
                   seconds: float | None, inputs: int | None) -> Iterator[Job]:
    """Mutated seeds of the formats of ``seeds``, round robin, until ``seconds`` have passed
    or ``inputs`` have been drawn (whichever comes first)."""
    names = [n for n in seeds if seeds[n]]
    start = time.monotonic()
    for count in itertools.count():
        if (inputs is not None and count >= inputs) or (
                seconds is not None and time.monotonic() - start >= seconds):
            return
        fmt = names[count % len(names)]
        index = count // len(names)
        seed_file, data = generate(seeds[fmt], fmt, seed, index)
        yield fmt, index, seed_file, data


def run(jobs: Iterator[Job], warm_up: dict[str, bytes], *, seed: int, workers: int,
        out: Path | None, log=print) -> Run:
    """Runs the inputs of ``jobs`` on ``workers`` worker processes (warmed up with one input
    of each format in ``warm_up``), saves each finding's input under ``out/<format>/`` (not
    when ``out`` is None: replayed files are saved already) and logs the first of each
    signature."""
    context = multiprocessing.get_context("spawn")
    tally, start = Run(), time.monotonic()
    retries: list[tuple] = []  # jobs that timed out once
    pool = [_Worker(context, warm_up) for _ in range(workers)]

    def next_job() -> tuple | None:
        if retries:
            return retries.pop()
        job = next(jobs, None)
        return None if job is None else (*job, False)

    def finish(job: tuple, outcome: Outcome) -> None:
        fmt, index, seed_file, data, _ = job
        tally.add(fmt, outcome)
        if outcome.is_finding:
            saved = seed_file if out is None else _save(out, fmt, seed, index, outcome, data)
            finding = Finding(fmt, seed, index, seed_file, outcome, saved)
            new = finding.signature not in {f.signature for f in tally.findings}
            tally.findings.append(finding)
            if new:
                log(f"{outcome.result}: {fmt} input {index} (from {seed_file}): "
                    f"{outcome.where} {outcome.detail[:300]} -> {finding.file}")

    try:
        for w in pool:
            job = next_job()
            if job is not None:
                w.submit(job, job[0], job[3])
        while any(w.job for w in pool):
            busy = [w for w in pool if w.job]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait([w.conn for w in busy], timeout)
            for i, w in enumerate(pool):
                if not w.job:
                    continue
                job = w.job
                if w.conn in ready:
                    outcome = w.answer()
                    if outcome.result == "crash" and outcome.where == "worker died":
                        w.stop()
                        pool[i] = w = _Worker(context, warm_up)
                elif time.monotonic() >= w.deadline:
                    w.stop()
                    pool[i] = w = _Worker(context, warm_up)
                    if not job[4]:
                        retries.append((*job[:4], True))
                        outcome = None
                    else:
                        outcome = Outcome("hang", f"no answer within {TIME_LIMIT} s, twice")
                else:
                    continue
                w.job = None
                if outcome is not None:
                    finish(job, outcome)
                job = next_job()
                if job is not None:
                    w.submit(job, job[0], job[3])
    finally:
        for w in pool:
            w.stop()
    tally.seconds = time.monotonic() - start
    return tally


def write_json(tally: Run, path: Path) -> None:
    """Writes :meth:`Run.summary` to ``path``."""
    path.write_text(json.dumps(tally.summary(), indent=1) + "\n")
