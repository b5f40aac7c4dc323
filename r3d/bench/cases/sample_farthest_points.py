"""Benchmark cases of sample_farthest_points (run by ``r3d bench``).

``fps_b{B}_K{K}``: farthest point sampling of K points from each of B clouds of the same size
(the case's size: points per cloud), uniform in the unit cube, float32, starting at point 0.
``fps_b8_K512`` and ``fps_b2_K256`` are the CPU cases, ``fps_b8_K4096`` the GPU's (run by default
on CUDA only). Contenders: r3d (native), its pure-PyTorch twin (small sizes only: one Python step
per sample) and PyTorch3D when importable (its CPU path is serial: not run on the CPU for the GPU
case).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.contenders import op_contenders
from r3d.bench.registry import register_case
from r3d.ops import sample_farthest_points
from r3d.ops.sample_farthest_points import sample_farthest_points_torch

PYTORCH3D_OP = "pytorch3d.ops.sample_farthest_points.sample_farthest_points"


def clouds(size: int, batch: int, device: torch.device, seed: int = 0) -> dict:
    """``batch`` clouds of ``size`` points: points (B, size, 3) float32 and lengths (B,)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "points": torch.rand(batch, size, 3, generator=gen).to(device),
        "lengths": torch.full((batch,), size, dtype=torch.int64).to(device),
    }


def _run(K: int) -> Callable[[Callable], Callable]:
    return lambda op: lambda x: op(x["points"], x["lengths"], K=K)


# batch, K, sizes, quick sizes, twin's largest size, PyTorch3D's largest on the CPU, devices
_CASES = (
    (8, 512, (10_000, 100_000), (1_000,), 10_000, None, None),
    (2, 256, (20_000,), (1_000,), 20_000, None, None),
    (8, 4096, (100_000,), (10_000,), 10_000, 10_000, ("cuda",)),
)

for _batch, _K, _sizes, _quick, _torch_max, _p3d_cpu_max, _devices in _CASES:
    register_case(
        f"fps_b{_batch}_K{_K}",
        sizes=_sizes,
        quick_sizes=_quick,
        setup=lambda size, device, b=_batch: clouds(size, b, device),
        contenders=op_contenders(
            sample_farthest_points, sample_farthest_points_torch, _run(_K), PYTORCH3D_OP,
            torch_max_size=_torch_max, pytorch3d_cpu_max_size=_p3d_cpu_max,
        ),
        size_label="points per cloud",
        description=f"sample_farthest_points K={_K} from each of {_batch} clouds, uniform in the "
        "unit cube, float32",
        default_devices=_devices,
        K=_K,
        batch=_batch,
    )
