"""What a run's figures were measured on: CPU, cores, threads, device and versions."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import torch

import r3d
from r3d._native import core

__all__ = ["machine_info"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info(device: torch.device) -> dict:
    """What the figures were measured on: CPU, cores, threads, device, versions."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    info = {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": usable,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "r3d": r3d.__version__,
        "r3d_native_cuda": core.built_with_cuda(),
        "device": str(device),
        "device_name": _cpu_model(),
        "peers": {
            name: v for name in ("pytorch3d", "scipy") if (v := _version(name)) is not None
        },
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["device_name"] = props.name
        info["cuda"] = torch.version.cuda
        info["device_memory_bytes"] = props.total_memory
    return info
