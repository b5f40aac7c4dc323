"""Benchmark cases of mesh rasterisation, rasterize_meshes (run by ``r3d bench``).

``rasterize_{scene}_K{K}`` and ``..._fwd_bwd``, at image size S x S (the case's size: 256, 512
and 1024; 64 in quick runs), float32, the scene centred in NDC (radius 0.8, depth 2):
``cow``: the bundled textured cow (5,856 faces); ``ico6``: an ico_sphere of level 6 (81,920
faces, the size of a scanned model); ``batch8``: a heterogeneous batch of 8 ico_spheres of levels
2 to 5. K = 1 hard (blur 0) or K = 50 soft (blur radius 1e-4, about one pixel at S = 256,
barycentrics clipped). The backward variant also takes the gradient w.r.t. the vertices from
random upstream gradients of zbuf, bary_coords and dists. Contenders: r3d (native kernels), its
pure-PyTorch twin (only up to the size where it takes a few seconds) and PyTorch3D when
importable (on the CPU, where it rasterises naively, the cow up to 256 and no other scene).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from r3d.bench.cases._inputs import IMAGE_SIZES
from r3d.bench.contenders import register_op_cases
from r3d.io import load_objs_as_meshes
from r3d.renderer import rasterize_meshes
from r3d.renderer.mesh import rasterize_meshes_torch
from r3d.structures import Meshes, join_meshes_as_batch
from r3d.utils import ico_sphere

SIZES = IMAGE_SIZES
QUICK_SIZES = (64,)  # keeps ``r3d bench --quick`` (every case) in about a minute
SETTINGS = {1: dict(blur_radius=0.0), 50: dict(blur_radius=1e-4, clip_barycentric_coords=True)}
BATCH_LEVELS = (2, 5, 3, 4, 2, 4, 3, 5)
TORCH_MAX_SIZE = {"cow": 512, "ico6": 256, "batch8": 256}
# scene -> the largest image side PyTorch3D is run at on the CPU, where it rasterises naively
# (every pixel against every face): seconds a call on the cow at 256, on ico6 already at 128
PYTORCH3D_CPU_MAX_SIZE = {"cow": 256, "ico6": 0, "batch8": 0}
COW_OBJ = Path(__file__).resolve().parents[2] / "assets" / "cow" / "cow.obj"  # r3d/assets


def in_ndc(verts: torch.Tensor) -> torch.Tensor:
    """(V, 3) vertices centred and scaled into NDC: radius 0.8 around depth 2."""
    centred = verts - (verts.amax(0) + verts.amin(0)) / 2
    return centred * (0.8 / centred.norm(dim=1).max()) + torch.tensor([0.0, 0.0, 2.0])


def scene(name: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Vertices (in NDC) and faces of each mesh of the named scene."""
    if name == "cow":
        meshes = load_objs_as_meshes([COW_OBJ], load_textures=False)
    elif name == "ico6":
        meshes = ico_sphere(6)
    else:
        meshes = join_meshes_as_batch([ico_sphere(level) for level in BATCH_LEVELS])
    return [in_ndc(v) for v in meshes.verts_list()], meshes.faces_list()


def _setup(name: str, K: int, backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        verts, faces = scene(name)
        x = {
            "verts": [v.to(device).requires_grad_(backward) for v in verts],
            "faces": [f.to(device) for f in faces],
            "size": size,
            "K": K,
        }
        if backward:
            gen = torch.Generator().manual_seed(0)
            n = len(verts)
            x["grads"] = [torch.randn(shape, generator=gen).to(device)
                          for shape in ((n, size, size, K), (n, size, size, K, 3),
                                        (n, size, size, K))]
        return x

    return setup


def _forward(op: Callable) -> Callable:
    def run(x):
        meshes = Meshes(x["verts"], x["faces"])
        return op(meshes, image_size=x["size"], faces_per_pixel=x["K"], **SETTINGS[x["K"]])

    return run


def _fwd_bwd(op: Callable) -> Callable:
    forward = _forward(op)

    def run(x):
        outputs = forward(x)[1:]
        return torch.autograd.grad(outputs, x["verts"], x["grads"])

    return run


for _scene in TORCH_MAX_SIZE:
    for _K in SETTINGS:
        register_op_cases(
            f"rasterize_{_scene}_K{_K}",
            [
                ("", _setup(_scene, _K, False), _forward, "forward"),
                ("_fwd_bwd", _setup(_scene, _K, True), _fwd_bwd,
                 "forward + backward w.r.t. verts"),
            ],
            native=rasterize_meshes,
            torch_op=rasterize_meshes_torch,
            torch_max_size=TORCH_MAX_SIZE[_scene],
            pytorch3d_cpu_max_size=PYTORCH3D_CPU_MAX_SIZE[_scene],
            pytorch3d="pytorch3d.renderer.mesh.rasterize_meshes.rasterize_meshes",
            sizes=SIZES,
            quick_sizes=QUICK_SIZES,
            size_label="pixels per side",
            description=f"rasterize_meshes {{what}}, {_scene} in NDC, K={_K} "
            + ("hard" if _K == 1 else "with blur"),
            scene=_scene,
            K=_K,
        )
