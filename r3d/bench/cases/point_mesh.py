"""Benchmark case of the point-to-mesh distances (run by ``r3d bench``).

``point_mesh_face_distance_fwd_bwd``: forward and backward w.r.t. the vertices and the points,
float32, 8 bumpy grid meshes of different sizes (the size is the total number of faces) and as
many clouds of 2 points per face of their mesh, scattered in a slab around it. Compares the
public loss (native kernels on CPU and CUDA) with its pure-PyTorch twin, which is quadratic and
so only run up to ``TORCH_MAX_SIZE`` faces.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import MESH_SHARES, grid_mesh
from r3d.bench.contenders import register_op_cases
from r3d.loss import point_mesh_face_distance
from r3d.loss.point_mesh_distance import point_mesh_face_distance_torch
from r3d.structures import Meshes, Pointclouds

SIZES = (2_000, 10_000, 100_000, 300_000)
QUICK_SIZES = (1_000,)
TORCH_MAX_SIZE = 10_000  # the torch twin is quadratic: about 40 s a call at 10k on 2 cores
POINTS_PER_FACE = 2  # each cloud has this many points per face of its mesh


def _setup(size: int, device: torch.device) -> dict:
    """8 bumpy grid meshes of different sizes with about ``size`` faces together, and 8 clouds
    scattered in a slab around them."""
    gen = torch.Generator().manual_seed(0)
    verts, faces, clouds = [], [], []
    for share in MESH_SHARES:
        v, f = grid_mesh(size * share // sum(MESH_SHARES), gen)
        p = torch.rand(POINTS_PER_FACE * f.shape[0], 3, generator=gen)
        p[:, 2] = 0.2 * p[:, 2] - 0.1
        verts.append(v.to(device).requires_grad_(True))
        faces.append(f.to(device))
        clouds.append(p.to(device).requires_grad_(True))
    return {"verts": verts, "faces": faces, "points": clouds}


def _make_run(loss: Callable) -> Callable:
    def run(x):
        value = loss(Meshes(x["verts"], x["faces"]), Pointclouds(x["points"]))
        return torch.autograd.grad(value, x["verts"] + x["points"])

    return run


register_op_cases(
    "point_mesh_face_distance",
    [("_fwd_bwd", _setup, _make_run, "forward + backward w.r.t. verts and points")],
    native=point_mesh_face_distance,
    torch_op=point_mesh_face_distance_torch,
    pytorch3d=None,
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    size_label="faces",
    torch_max_size=TORCH_MAX_SIZE,
    description="point_mesh_face_distance {what}, float32, "
    f"{len(MESH_SHARES)} grid meshes of different sizes and clouds of {POINTS_PER_FACE} points "
    "per face",
    meshes=len(MESH_SHARES),
)
