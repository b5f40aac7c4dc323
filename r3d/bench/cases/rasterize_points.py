"""Benchmark cases of point rasterisation, rasterize_points (run by ``r3d bench``).

``rasterize_points_{P}_K{K}`` and ``..._fwd_bwd``, at image size S x S (the case's size: 256,
512 and 1024; 64 in quick runs), float32: one cloud of P points (10k, 100k or 1M) sampled
uniformly on a sphere of radius 0.8 around depth 2 in NDC, radius 0.01 (1.3 pixels at S = 256,
5 at S = 1024), K = 8 or 50 points per pixel. The backward variant also takes the gradient
w.r.t. the points from random upstream gradients of zbuf and dists. Contenders: r3d (native
kernels), its pure-PyTorch twin (only up to the size where it takes a few seconds, and not on
1M points, where it takes seconds even on the quick image) and PyTorch3D when importable (on
CUDA; on the CPU only for 10k points up to 256, as PyTorch3D rasterises points naively there,
which takes seconds a call at 256 and minutes on more points).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import IMAGE_SIZES
from r3d.bench.contenders import native_available, pytorch3d_contender
from r3d.bench.registry import Contender, register_case
from r3d.renderer import rasterize_points
from r3d.renderer.points import rasterize_points_torch
from r3d.structures import Pointclouds

SIZES = IMAGE_SIZES
QUICK_SIZES = (64,)  # keeps ``r3d bench --quick`` (every case) in seconds
RADIUS = 0.01
KS = (8, 50)
# points per cloud -> the largest image side the pure-PyTorch twin is run at (None: not run)
TORCH_MAX_SIZE = {10_000: 1024, 100_000: 256, 1_000_000: None}
# points per cloud -> the largest image side PyTorch3D is run at on the CPU (0: never)
PYTORCH3D_CPU_MAX_SIZE = {10_000: 256, 100_000: 0, 1_000_000: 0}
PYTORCH3D_OP = "pytorch3d.renderer.points.rasterize_points.rasterize_points"


def sphere_points(count: int, seed: int = 0) -> torch.Tensor:
    """(count, 3) float32 points uniform on a sphere of radius 0.8 around (0, 0, 2) (NDC)."""
    gen = torch.Generator().manual_seed(seed)
    d = torch.randn(count, 3, generator=gen)
    return d / d.norm(dim=1, keepdim=True) * 0.8 + torch.tensor([0.0, 0.0, 2.0])


def _setup(count: int, K: int, backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        x = {
            "points": sphere_points(count).to(device).requires_grad_(backward),
            "size": size,
            "K": K,
        }
        if backward:
            gen = torch.Generator().manual_seed(1)
            x["grads"] = [torch.randn((1, size, size, K), generator=gen).to(device)
                          for _ in range(2)]
        return x

    return setup


def _forward(op: Callable) -> Callable:
    def run(x):
        return op(Pointclouds([x["points"]]), image_size=x["size"], radius=RADIUS,
                  points_per_pixel=x["K"])

    return run


def _fwd_bwd(op: Callable) -> Callable:
    forward = _forward(op)

    def run(x):
        return torch.autograd.grad(forward(x)[1:], x["points"], x["grads"])

    return run


def _contenders(count: int, make_run: Callable[[Callable], Callable]) -> list[Contender]:
    contenders = [Contender("r3d", make_run(rasterize_points), "native", native_available)]
    if TORCH_MAX_SIZE[count] is not None:
        contenders.append(Contender("torch", make_run(rasterize_points_torch), "torch",
                                    max_size=TORCH_MAX_SIZE[count]))
    peer = pytorch3d_contender(PYTORCH3D_OP, make_run, PYTORCH3D_CPU_MAX_SIZE[count])
    return contenders + [peer]


for _count, _label in ((10_000, "10k"), (100_000, "100k"), (1_000_000, "1M")):
    for _K in KS:
        for _suffix, _backward, _make_run, _what in (
            ("", False, _forward, "forward"),
            ("_fwd_bwd", True, _fwd_bwd, "forward + backward w.r.t. the points"),
        ):
            register_case(
                f"rasterize_points_{_label}_K{_K}{_suffix}",
                sizes=SIZES,
                quick_sizes=QUICK_SIZES,
                setup=_setup(_count, _K, _backward),
                contenders=_contenders(_count, _make_run),
                size_label="pixels per side",
                description=f"rasterize_points {_what}, {_label} points on a sphere in NDC, "
                f"radius {RADIUS}, K={_K}",
                points=_count,
                K=_K,
            )
