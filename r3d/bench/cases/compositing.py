"""Benchmark cases of point compositing: alpha_composite, norm_weighted_sum and weighted_sum
(run by ``r3d bench``).

``{op}_K{K}`` and ``..._fwd_bwd`` for each op, at image size S x S (the case's size: 256, 512
and 1024; 64 in quick runs), one image, float32, K = 8 or 50 slots per pixel of which a random
number in [K / 2, K] hold points (the rest are -1, as a rasteriser leaves them), point indices
drawn from 100,000 points with C = 3 features. The inputs have the layouts PointsRenderer
passes: (N, H, W, K) fragments permuted to (N, K, H, W) and packed (P, C) features transposed
to (C, P). The backward variant also takes the gradient w.r.t. the alphas and the features from
a random upstream gradient. Contenders: r3d (native kernels), its pure-PyTorch twin (up to the
size where its (C, N, K, H, W) gather stays within a few hundred MB) and PyTorch3D when
importable (on the CPU with K = 50 only up to 256: seconds a call above).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import IMAGE_SIZES
from r3d.bench.contenders import register_op_cases
from r3d.renderer import alpha_composite, norm_weighted_sum, weighted_sum
from r3d.renderer.points import compositing_torch

SIZES = IMAGE_SIZES
QUICK_SIZES = (64,)  # keeps ``r3d bench --quick`` (every case) in seconds
NUM_POINTS = 100_000
CHANNELS = 3
TORCH_MAX_SIZE = {8: 1024, 50: 512}
# K -> the largest image side PyTorch3D's compositors are run at on the CPU (None: all)
PYTORCH3D_CPU_MAX_SIZE = {8: None, 50: 256}
# (name, native op, pure-PyTorch twin)
OPS = (
    ("alpha_composite", alpha_composite, compositing_torch.alpha_composite_torch),
    ("norm_weighted_sum", norm_weighted_sum, compositing_torch.norm_weighted_sum_torch),
    ("weighted_sum", weighted_sum, compositing_torch.weighted_sum_torch),
)


def _setup(K: int, backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        gen = torch.Generator().manual_seed(0)
        hits = torch.randint(K // 2, K + 1, (1, size, size, 1), generator=gen)
        idx = torch.randint(0, NUM_POINTS, (1, size, size, K), generator=gen)
        x = {
            "idx": torch.where(torch.arange(K) < hits, idx, -1).to(device),
            "alphas": torch.rand((1, size, size, K), generator=gen).to(device),
            "features": torch.rand((NUM_POINTS, CHANNELS), generator=gen).to(device),
        }
        if backward:
            x["alphas"].requires_grad_(True)
            x["features"].requires_grad_(True)
            x["grad"] = torch.randn((1, CHANNELS, size, size), generator=gen).to(device)
        return x

    return setup


def _forward(op: Callable) -> Callable:
    def run(x):
        return op(x["idx"].permute(0, 3, 1, 2), x["alphas"].permute(0, 3, 1, 2),
                  x["features"].t())

    return run


def _fwd_bwd(op: Callable) -> Callable:
    forward = _forward(op)

    def run(x):
        return torch.autograd.grad(forward(x), [x["alphas"], x["features"]], x["grad"])

    return run


for _op, _native, _torch in OPS:
    for _K, _max in TORCH_MAX_SIZE.items():
        register_op_cases(
            f"{_op}_K{_K}",
            [
                ("", _setup(_K, False), _forward, "forward"),
                ("_fwd_bwd", _setup(_K, True), _fwd_bwd,
                 "forward + backward w.r.t. alphas and features"),
            ],
            native=_native,
            torch_op=_torch,
            torch_max_size=_max,
            pytorch3d_cpu_max_size=PYTORCH3D_CPU_MAX_SIZE[_K],
            pytorch3d=f"pytorch3d.renderer.compositing.{_op}",
            sizes=SIZES,
            quick_sizes=QUICK_SIZES,
            size_label="pixels per side",
            description=f"{_op} {{what}}, K={_K}, {NUM_POINTS:,} points, C={CHANNELS}",
            K=_K,
        )
