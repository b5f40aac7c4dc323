"""Benchmark cases of rasterize_meshes (run by ``r3d bench``).

``rasterize_ico{L}_K{K}`` and ``..._fwd_bwd``: an ico_sphere of level L (L = 4: 5,120 faces,
L = 5: 20,480 faces) scaled into NDC (radius 0.8, centred at depth 2), rasterised at image
size S x S (the case's size), float32; K = 1 hard (blur 0) or K = 10 soft (blur radius 1e-4,
about one pixel at S = 256, barycentrics clipped). The backward variant also takes the gradient
w.r.t. the vertices from random upstream gradients of zbuf, bary_coords and dists. Contenders:
r3d (native kernels), its pure-PyTorch twin and PyTorch3D when importable.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.contenders import register_op_cases
from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.structures.meshes import Meshes
from r3d.utils import ico_sphere

SIZES = (256, 512)
QUICK_SIZES = (256,)
SETTINGS = {1: dict(blur_radius=0.0), 10: dict(blur_radius=1e-4, clip_barycentric_coords=True)}


def sphere_in_ndc(level: int, device: torch.device) -> torch.Tensor:
    """(V, 3) float32 vertices of an ico_sphere in NDC: radius 0.8, centre at depth 2."""
    verts = ico_sphere(level).verts_packed() * 0.8
    return (verts + torch.tensor([0.0, 0.0, 2.0])).to(device)


def _setup(level: int, K: int, backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        sphere = ico_sphere(level)
        verts = sphere_in_ndc(level, device).requires_grad_(backward)
        x = {"verts": verts, "faces": sphere.faces_packed().to(device), "size": size, "K": K}
        if backward:
            gen = torch.Generator().manual_seed(0)
            x["grads"] = [torch.randn(shape, generator=gen).to(device)
                          for shape in ((1, size, size, K), (1, size, size, K, 3),
                                        (1, size, size, K))]
        return x

    return setup


def _forward(op: Callable) -> Callable:
    def run(x):
        meshes = Meshes([x["verts"]], [x["faces"]])
        return op(meshes, image_size=x["size"], faces_per_pixel=x["K"], **SETTINGS[x["K"]])

    return run


def _fwd_bwd(op: Callable) -> Callable:
    forward = _forward(op)

    def run(x):
        outputs = forward(x)[1:]
        return torch.autograd.grad(outputs, x["verts"], x["grads"])

    return run


for _level in (4, 5):
    for _K in SETTINGS:
        register_op_cases(
            f"rasterize_ico{_level}_K{_K}",
            [
                ("", _setup(_level, _K, False), _forward, "forward"),
                ("_fwd_bwd", _setup(_level, _K, True), _fwd_bwd,
                 "forward + backward w.r.t. verts"),
            ],
            native=rasterize_meshes,
            torch_op=rasterize_meshes_torch,
            pytorch3d_name="rasterize_meshes",
            sizes=SIZES,
            quick_sizes=QUICK_SIZES,
            size_label="pixels per side",
            description=f"rasterize_meshes {{what}}, ico_sphere level {_level} in NDC, K={_K} "
            + ("hard" if _K == 1 else "with blur"),
            level=_level,
            K=_K,
        )
