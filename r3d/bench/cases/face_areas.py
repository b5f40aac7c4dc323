"""Benchmark cases of mesh_face_areas_normals (run by ``r3d bench``).

``face_areas_normals`` and ``..._fwd_bwd``: the areas and normals of every face of a batch of 8
bumpy grid meshes of different sizes (the size is the total number of faces), float32; the
backward variant takes the gradient w.r.t. the vertices from random upstream gradients. Each
case compares the public op (native kernel on CPU and CUDA), its pure-PyTorch twin and
PyTorch3D's op when PyTorch3D is importable (its backward on the CPU only up to 100k faces).
"""

from __future__ import annotations

import torch

from r3d.bench.cases._inputs import MESH_SHARES, backward_of, forward_of, grid_mesh
from r3d.bench.contenders import register_op_cases
from r3d.ops import mesh_face_areas_normals
from r3d.structures.mesh_face_areas_normals import mesh_face_areas_normals_torch

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000,)


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


_faces_fwd = forward_of("verts", "faces")
_faces_bwd = backward_of(("verts", "faces"), "verts", ("grad_areas", "grad_normals"))


# variant -> the largest size PyTorch3D is run at on the CPU (None: all): its backward there
# takes seconds a call at 100k faces
PYTORCH3D_CPU_MAX_SIZE = {"": None, "_fwd_bwd": 100_000}

for _variant in (
    ("", _faces_forward, _faces_fwd, "forward"),
    ("_fwd_bwd", _faces_fwd_bwd, _faces_bwd, "forward + backward w.r.t. verts"),
):
    register_op_cases(
        "face_areas_normals",
        [_variant],
        native=mesh_face_areas_normals,
        torch_op=mesh_face_areas_normals_torch,
        pytorch3d="pytorch3d.ops.mesh_face_areas_normals",
        pytorch3d_cpu_max_size=PYTORCH3D_CPU_MAX_SIZE[_variant[0]],
        sizes=SIZES,
        quick_sizes=QUICK_SIZES,
        size_label="faces",
        description="mesh_face_areas_normals {what}, float32, a batch of "
        f"{len(MESH_SHARES)} grid meshes of different sizes",
        meshes=len(MESH_SHARES),
    )
