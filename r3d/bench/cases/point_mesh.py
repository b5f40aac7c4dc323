"""Benchmark case of the point-to-mesh distances (run by ``r3d bench``).

``point_mesh_face_distance_fwd_bwd``: forward and backward w.r.t. the vertices and the points,
float32, 8 bumpy grid meshes of different sizes (the size is the total number of faces) and as
many clouds of 2 points per face of their mesh, scattered in a slab around it. Compares the
public loss (native kernels on CPU and CUDA) with its pure-PyTorch twin, which is quadratic and
so only run up to ``TORCH_MAX_SIZE`` faces.

``point_mesh_face_distance_torus1m`` and ``..._fwd_bwd``: the GPU target, float32, one torus of
exactly 1,000,000 faces (``torus(0.35, 1.0, sides=500, rings=1000)``) and a cloud of 1,000,000
points scattered around its surface (uniform in the torus' two angles, at the tube radius times
1 + 0.05 N(0, 1), like a noisy scan), both directions of the loss through the GPU trees. Built
once per process (cached). Only r3d runs it (the twin is quadratic): by default only on CUDA,
elsewhere only when named exactly (``r3d bench point_mesh_face_distance_torus1m``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import MESH_SHARES, grid_mesh
from r3d.bench.contenders import register_op_cases
from r3d.loss import point_mesh_face_distance
from r3d.loss.point_mesh_distance import point_mesh_face_distance_torch
from r3d.structures import Meshes, Pointclouds
from r3d.utils import torus

SIZES = (2_000, 10_000, 100_000, 300_000)
QUICK_SIZES = (1_000,)
TORCH_MAX_SIZE = 10_000  # the torch twin is quadratic: about 40 s a call at 10k on 2 cores
POINTS_PER_FACE = 2  # each cloud has this many points per face of its mesh
# the GPU target: BIG_POINTS points against a torus of BIG_FACES faces, on CUDA by default
BIG_TORUS = dict(r=0.35, R=1.0, sides=500, rings=1000)  # 2 * sides * rings faces
BIG_FACES = 2 * BIG_TORUS["sides"] * BIG_TORUS["rings"]
BIG_POINTS = 1_000_000
BIG_NOISE = 0.05  # the points' spread off the surface, relative to the tube radius


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


def _make_forward(loss: Callable) -> Callable:
    return lambda x: loss(Meshes(x["verts"], x["faces"]), Pointclouds(x["points"]))


@functools.lru_cache(maxsize=1)
def _big_scene() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The torus' verts (V, 3) and faces (BIG_FACES, 3) and the points (BIG_POINTS, 3) around
    it: built once per process, shared by every call (copy them before setting
    requires_grad)."""
    mesh = torus(**BIG_TORUS)
    gen = torch.Generator().manual_seed(0)
    phi, theta = torch.rand(2, BIG_POINTS, generator=gen, dtype=torch.float64) * (2 * math.pi)
    rho = BIG_TORUS["r"] * (1 + BIG_NOISE * torch.randn(BIG_POINTS, generator=gen,
                                                        dtype=torch.float64))
    ring = BIG_TORUS["R"] + rho * theta.cos()
    points = torch.stack([ring * phi.cos(), ring * phi.sin(), rho * theta.sin()], 1)
    return mesh.verts_packed().float(), mesh.faces_packed(), points.float()


def _big_setup(backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        verts, faces, points = _big_scene()
        # copies: the cached tensors are shared
        return {
            "verts": [verts.to(device, copy=True).requires_grad_(backward)],
            "faces": [faces.to(device)],
            "points": [points.to(device, copy=True).requires_grad_(backward)],
        }

    return setup


register_op_cases(
    "point_mesh_face_distance_torus1m",
    [
        ("", _big_setup(False), _make_forward, "forward"),
        ("_fwd_bwd", _big_setup(True), _make_run, "forward + backward w.r.t. verts and points"),
    ],
    native=point_mesh_face_distance,
    torch_op=point_mesh_face_distance_torch,
    pytorch3d=None,
    sizes=(BIG_FACES,),
    quick_sizes=(BIG_FACES,),
    size_label="faces",
    torch_max_size=0,  # quadratic: never at this size
    description=f"point_mesh_face_distance {{what}}, float32, a {BIG_FACES:,}-face torus and "
    f"{BIG_POINTS:,} points around it",
    default_devices=("cuda",),
    meshes=1,
    faces=BIG_FACES,
    points=BIG_POINTS,
)


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
