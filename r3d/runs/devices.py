"""The device a run asks for, checked against what this machine has."""

from __future__ import annotations

import torch

from r3d.errors import InputError


def _available(kind: str) -> tuple[bool, int]:
    """Whether torch can use devices of type ``kind`` here, and how many it sees."""
    if kind == "mps":
        return torch.backends.mps.is_available(), 1
    module = getattr(torch, kind, None)
    if module is None or not hasattr(module, "is_available"):
        return False, 0
    available = bool(module.is_available())
    return available, int(module.device_count()) if available else 0


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device, after checking that this machine has it (InputError if not).

    Any device torch runs on is accepted (cpu, cuda, mps, xpu, ...); where r3d has no native
    kernel (all but cpu and cuda) its pure-PyTorch implementations run."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"--device: {device!r} is not a device name ({exc})") from None
    if dev.type == "cpu":
        return dev
    available, count = _available(dev.type)
    if not available:
        raise InputError(
            f"--device {dev.type}: torch sees no {dev.type} device here (torch "
            f"{torch.__version__}); use --device cpu"
        )
    if dev.index is not None and dev.index >= count:
        raise InputError(f"--device {dev}: only {count} {dev.type} device(s) are visible")
    return dev
