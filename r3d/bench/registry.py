"""The registry of benchmark cases.

A *case* is one operation measured at several problem sizes: a ``setup(size, device)`` function
builds the inputs once per size, and each *contender* (r3d's native op, its pure-PyTorch twin,
a peer library) is a callable timed on those inputs. Cases are declared in the package
:mod:`r3d.bench.cases`, one module per op family, which is imported only when the cases are
first asked for, so importing an op never imports the benchmark machinery.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from r3d.errors import InputError

KINDS = ("native", "torch", "peer")

_CASES: dict[str, Case] = {}


@dataclass(frozen=True)
class Contender:
    """One implementation of a case's operation.

    Args:
        name: short label shown in reports ("r3d", "torch", "pytorch3d", "scipy", ...).
        run: called with the prepared inputs; its wall time is what is measured.
        kind: "native" (r3d's native kernel: the baseline of every ratio), "torch" (r3d's
            pure-PyTorch implementation) or "peer" (another library).
        available: ``available(device)`` returns None when the contender can run on ``device``,
            or a short reason why not (library not installed, no kernel for that device).
        prepare: turns the case's inputs into this contender's arguments, outside the timing
            (e.g. a conversion to NumPy); the identity when None.
        max_size: sizes above this are not run (a brute-force baseline that would take
            minutes); None runs every size.
        cpu_max_size: sizes above this are not run on the CPU (a peer whose CPU path is brute
            force while its GPU path is not); 0: never on the CPU; None runs every size.
    """

    name: str
    run: Callable[[Any], Any]
    kind: str = "peer"
    available: Callable[[torch.device], str | None] | None = None
    prepare: Callable[[Any], Any] | None = None
    max_size: int | None = None
    cpu_max_size: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(
                f"Contender {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )

    def unavailable_reason(self, device: torch.device) -> str | None:
        """None when this contender can run on ``device``, else why it cannot."""
        return None if self.available is None else self.available(device)

    def size_limit_reason(self, size: int, device: torch.device, size_label: str) -> str | None:
        """None when this contender runs at ``size`` on ``device``, else why it does not."""
        if self.max_size is not None and size > self.max_size:
            return f"not run above {self.max_size:,} {size_label}"
        if device.type == "cpu" and self.cpu_max_size is not None and size > self.cpu_max_size:
            if self.cpu_max_size == 0:
                return "not run on the CPU"
            return f"not run above {self.cpu_max_size:,} {size_label} on the CPU"
        return None

    def prepared(self, inputs: Any) -> Any:
        """The argument ``run`` is called with, built from the case's inputs."""
        return inputs if self.prepare is None else self.prepare(inputs)


@dataclass(frozen=True)
class Case:
    """A benchmark case: an operation, its size grid and its contenders.

    Args:
        name: unique name, used on the command line (``r3d bench NAME``).
        sizes: the problem sizes of a full run, ascending.
        quick_sizes: the (small) sizes of ``--quick`` runs.
        setup: ``setup(size, device)`` returns the inputs every contender is prepared from.
        contenders: the implementations to compare; exactly one should be of kind "native".
        description: one line on what is measured.
        size_label: what ``size`` counts ("faces", "rows", "points", ...).
        default_devices: the device types ("cuda", "cpu") on which a run that does not name
            this case exactly (all cases, or a pattern) includes it; None: every device. A case
            sized for a GPU (millions of faces) runs elsewhere only when named.
    """

    name: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    setup: Callable[[int, torch.device], Any]
    contenders: tuple[Contender, ...]
    description: str = ""
    size_label: str = "size"
    meta: dict[str, Any] = field(default_factory=dict)
    default_devices: tuple[str, ...] | None = None

    def contender(self, name: str) -> Contender:
        """The contender called ``name``."""
        for c in self.contenders:
            if c.name == name:
                return c
        raise InputError(
            f"case {self.name!r} has no contender {name!r}; it has "
            + ", ".join(c.name for c in self.contenders)
        )

    def runs_by_default(self, device: torch.device | str) -> bool:
        """Whether a run on ``device`` that does not name this case exactly includes it."""
        return self.default_devices is None or torch.device(device).type in self.default_devices


def register_case(
    name: str,
    *,
    sizes: Sequence[int],
    quick_sizes: Sequence[int],
    contenders: Iterable[Contender],
    setup: Callable[[int, torch.device], Any] | None = None,
    description: str = "",
    size_label: str = "size",
    default_devices: Sequence[str] | None = None,
    **meta: Any,
):
    """Registers a benchmark case (see :class:`Case` for the arguments).

    With ``setup`` given, registers at once and returns the :class:`Case`; without it, returns a
    decorator that registers the decorated setup function and returns it unchanged::

        @register_case("my_op", sizes=[10**4, 10**5], quick_sizes=[10**3], contenders=[...])
        def _setup(size, device): ...

    Extra keyword arguments are kept in ``Case.meta`` and written to the JSON report.
    """

    def _register(fn: Callable[[int, torch.device], Any]) -> Case:
        if name in _CASES:
            raise InputError(f"benchmark case {name!r} is registered twice")
        contenders_t = tuple(contenders)
        if not contenders_t:
            raise InputError(f"benchmark case {name!r} has no contenders")
        names = [c.name for c in contenders_t]
        if len(set(names)) != len(names):
            raise InputError(f"benchmark case {name!r}: contender names repeat: {names}")
        if not sizes or not quick_sizes:
            raise InputError(f"benchmark case {name!r}: sizes and quick_sizes must not be empty")
        case = Case(
            name=name,
            sizes=tuple(int(s) for s in sizes),
            quick_sizes=tuple(int(s) for s in quick_sizes),
            setup=fn,
            contenders=contenders_t,
            description=description,
            size_label=size_label,
            meta=dict(meta),
            default_devices=None if default_devices is None else tuple(default_devices),
        )
        _CASES[name] = case
        return case

    if setup is not None:
        return _register(setup)

    def decorator(fn):
        _register(fn)
        return fn

    return decorator


def all_cases() -> list[Case]:
    """Every registered case, in registration order (imports :mod:`r3d.bench.cases`, which
    registers every op family's cases, on first call)."""
    # Loaded on first use, not at the top: the case modules register themselves through this
    # module, and loading them imports every library package they measure, which the registry's
    # own users (the memory probe, ``r3d bench --help``) need not pay for.
    from r3d.bench import cases  # noqa: F401 - importing it registers the cases

    return list(_CASES.values())


def get_case(name: str) -> Case:
    """The case called ``name``; InputError listing the known cases if there is none."""
    return select_cases([name])[0]


def select_cases(
    names: Sequence[str] | None, device: torch.device | str | None = None
) -> list[Case]:
    """The cases matching ``names`` (exact names or shell-style patterns such as ``packed*``).

    All cases when ``names`` is empty or None. With ``device``, a case that does not run there
    by default (:attr:`Case.default_devices`) is chosen only by its exact name, never by an empty
    ``names`` or a pattern. Raises InputError naming the known cases when a name matches none,
    and saying which cases need naming when a pattern matches only those.
    """
    cases = all_cases()
    listed = cases if device is None else [c for c in cases if c.runs_by_default(device)]
    if not names:
        return listed
    chosen: list[Case] = []
    for pattern in names:
        hits = [c for c in cases if c.name == pattern] or [
            c for c in listed if fnmatch.fnmatchcase(c.name, pattern)
        ]
        if not hits:
            held = [c.name for c in cases if fnmatch.fnmatchcase(c.name, pattern)]
            if held:
                raise InputError(
                    f"{pattern!r} matches only cases that run on {torch.device(device).type} "
                    f"when named exactly: {', '.join(held)}"
                )
            known = ", ".join(c.name for c in cases)
            raise InputError(f"unknown benchmark case {pattern!r}; known cases: {known}")
        chosen += [c for c in hits if all(c.name != k.name for k in chosen)]
    return chosen
