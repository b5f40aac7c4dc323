"""Inputs shared by several op families' benchmark cases: bumpy grid meshes (the mesh
operators, point-mesh distances, GraphConv and the mesh regularisers), the image sides of the
image-space cases (rasterisation, compositing, face-attribute interpolation), the bundled cow's
path, and the runners of forward and forward + backward cases over a dict of inputs."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch

MESH_SHARES = (1, 5, 2, 8, 3, 6, 4, 7)  # relative face counts of the 8 meshes of a batch
IMAGE_SIZES = (256, 512, 1024)  # pixels per side of the image-space cases' full runs
COW_OBJ = Path(__file__).resolve().parents[2] / "assets" / "cow" / "cow.obj"  # r3d/assets


def grid_mesh(num_faces: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A bumpy triangulated grid with about ``num_faces`` faces (vertex order row by row, as a
    real mesh's has locality)."""
    rows = max(1, round(math.sqrt(num_faces / 2)))
    cols = max(1, round(num_faces / (2 * rows)))
    y, x = torch.meshgrid(
        torch.linspace(0, 1, rows + 1), torch.linspace(0, 1, cols + 1), indexing="ij"
    )
    z = 0.05 * torch.randn(rows + 1, cols + 1, generator=gen)
    verts = torch.stack([x, y, z], dim=-1).reshape(-1, 3)
    a = (torch.arange(rows)[:, None] * (cols + 1) + torch.arange(cols)[None, :]).reshape(-1)
    b, c, d = a + 1, a + cols + 1, a + cols + 2
    faces = torch.cat([torch.stack([a, b, d], 1), torch.stack([a, d, c], 1)], 0)
    return verts, faces


def forward_of(*args: str) -> Callable[[Callable], Callable[[dict], object]]:
    """For ``register_op_cases``: runs ``op`` on the inputs named ``args``."""
    return lambda op: lambda x: op(*(x[a] for a in args))


def backward_of(args: tuple[str, ...], wrt: str,
                grads: tuple[str, ...]) -> Callable[[Callable], Callable[[dict], object]]:
    """For ``register_op_cases``: runs ``op`` on the inputs named ``args``, then its backward
    w.r.t. the input ``wrt`` from the upstream gradients named ``grads`` (one per output)."""

    def make(op: Callable) -> Callable[[dict], object]:
        def run(x: dict):
            out = op(*(x[a] for a in args))
            outs = out if isinstance(out, tuple) else (out,)
            return torch.autograd.grad(outs, x[wrt], tuple(x[g] for g in grads))

        return run

    return make
