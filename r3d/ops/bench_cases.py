"""Benchmark cases of the ops in this package (run by ``r3d bench``).

Imported only by the benchmark registry, so the ops themselves stay free of benchmark code.
Each case compares the public op (native kernel on CPU and CUDA), its pure-PyTorch twin and
PyTorch3D's op when PyTorch3D is importable.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from r3d.bench.contenders import register_op_cases
from r3d.structures.mesh_face_areas_normals import (
    mesh_face_areas_normals,
    mesh_face_areas_normals_torch,
)
from r3d.structures.packed_padded import packed_to_padded, packed_to_padded_torch

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000,)
MESH_SHARES = (1, 5, 2, 8, 3, 6, 4, 7)  # relative face counts of the 8 meshes of a batch
NUM_SEGMENTS = 16  # packed_to_padded: items in the batch
FEATURE_DIM = 3  # packed_to_padded: D


# ---------------------------------------------------------------- mesh_face_areas_normals


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


def mesh_batch(total_faces: int, device: torch.device, seed: int = 0):
    """Packed verts (V, 3) float32 and faces (F, 3) int64 of 8 meshes of different sizes with
    about ``total_faces`` faces together."""
    gen = torch.Generator().manual_seed(seed)
    verts, faces, offset = [], [], 0
    for share in MESH_SHARES:
        v, f = grid_mesh(total_faces * share // sum(MESH_SHARES), gen)
        verts.append(v)
        faces.append(f + offset)
        offset += v.shape[0]
    return torch.cat(verts).to(device), torch.cat(faces).to(device)


def _faces_forward(size: int, device: torch.device) -> dict:
    verts, faces = mesh_batch(size, device)
    return {"verts": verts, "faces": faces}


def _faces_fwd_bwd(size: int, device: torch.device) -> dict:
    verts, faces = mesh_batch(size, device)
    gen = torch.Generator().manual_seed(1)
    return {
        "verts": verts.requires_grad_(True),
        "faces": faces,
        "grad_areas": torch.randn(faces.shape[0], generator=gen).to(device),
        "grad_normals": torch.randn(faces.shape[0], 3, generator=gen).to(device),
    }


def _faces_fwd(op: Callable) -> Callable:
    return lambda x: op(x["verts"], x["faces"])


def _faces_bwd(op: Callable) -> Callable:
    def run(x):
        areas, normals = op(x["verts"], x["faces"])
        return torch.autograd.grad(
            (areas, normals), x["verts"], (x["grad_areas"], x["grad_normals"])
        )

    return run


register_op_cases(
    "face_areas_normals",
    [
        ("", _faces_forward, _faces_fwd, "forward"),
        ("_fwd_bwd", _faces_fwd_bwd, _faces_bwd, "forward + backward w.r.t. verts"),
    ],
    native=mesh_face_areas_normals,
    torch_op=mesh_face_areas_normals_torch,
    pytorch3d_name="mesh_face_areas_normals",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    size_label="faces",
    description="mesh_face_areas_normals {what}, float32, a batch of "
    f"{len(MESH_SHARES)} grid meshes of different sizes",
    meshes=len(MESH_SHARES),
)


# ---------------------------------------------------------------- packed_to_padded


def segments(total: int, num: int, seed: int = 0) -> torch.Tensor:
    """(num,) int64 first_idxs cutting ``total`` rows into segments of different lengths
    (between about 0.2 and 1.8 times the mean)."""
    gen = torch.Generator().manual_seed(seed)
    weights = 0.2 + 1.6 * torch.rand(num, generator=gen, dtype=torch.float64)
    ends = torch.round(torch.cumsum(weights, 0) / weights.sum() * total).long()
    return torch.cat([ends.new_zeros(1), ends[:-1]])


def _p2p_forward(size: int, device: torch.device) -> dict:
    first = segments(size, NUM_SEGMENTS)
    lengths = torch.diff(first, append=first.new_tensor([size]))
    gen = torch.Generator().manual_seed(2)
    return {
        "inputs": torch.randn(size, FEATURE_DIM, generator=gen).to(device),
        "first_idxs": first.to(device),
        "max_size": int(lengths.max()),
    }


def _p2p_fwd_bwd(size: int, device: torch.device) -> dict:
    x = _p2p_forward(size, device)
    x["inputs"].requires_grad_(True)
    gen = torch.Generator().manual_seed(3)
    x["grad_out"] = torch.randn(NUM_SEGMENTS, x["max_size"], FEATURE_DIM, generator=gen).to(device)
    return x


def _p2p_fwd(op: Callable) -> Callable:
    return lambda x: op(x["inputs"], x["first_idxs"], x["max_size"])


def _p2p_bwd(op: Callable) -> Callable:
    def run(x):
        out = op(x["inputs"], x["first_idxs"], x["max_size"])
        return torch.autograd.grad(out, x["inputs"], x["grad_out"])

    return run


register_op_cases(
    "packed_to_padded",
    [
        ("", _p2p_forward, _p2p_fwd, "forward"),
        ("_fwd_bwd", _p2p_fwd_bwd, _p2p_bwd, "forward + backward"),
    ],
    native=packed_to_padded,
    torch_op=packed_to_padded_torch,
    pytorch3d_name="packed_to_padded",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    size_label="rows",
    description=f"packed_to_padded {{what}}, float32 (P, {FEATURE_DIM}) rows in "
    f"{NUM_SEGMENTS} segments of different lengths",
    segments=NUM_SEGMENTS,
    dim=FEATURE_DIM,
)
