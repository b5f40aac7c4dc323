"""The device a run asks for, checked against what this machine has."""

from __future__ import annotations

import torch

from r3d.errors import InputError


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device, after checking that this machine has it (InputError if not)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"--device: {device!r} is not a device name ({exc})") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                "--device cuda: torch sees no CUDA device here (torch.cuda.is_available() is "
                f"False; torch {torch.__version__}); use --device cpu"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(
                f"--device {dev}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    elif dev.type != "cpu":
        raise InputError(f"--device must be cpu or cuda, got {device!r}")
    return dev
