"""Benchmark case of mesh voxelisation (run by ``r3d bench``).

``voxelize``: the bundled cow (5,856 faces) voxelised into a ``size``^3 occupancy grid over its
bounding box (voxelize_meshes' default bounds), float32. Contenders: r3d (native kernels) and its
pure-PyTorch twin; PyTorch3D has no voxeliser.
"""

from __future__ import annotations

import torch

from r3d.bench.cases._inputs import COW_OBJ
from r3d.bench.contenders import register_op_cases
from r3d.io import load_objs_as_meshes
from r3d.ops import voxelize_meshes
from r3d.ops.voxelize import voxelize_meshes_torch


def cow(size: int, device: torch.device) -> dict:
    """The cow as a batch of one mesh on ``device`` and the grid's side."""
    return {"meshes": load_objs_as_meshes([COW_OBJ], load_textures=False, device=device),
            "size": size}


register_op_cases(
    "voxelize",
    [("", cow, lambda op: lambda x: op(x["meshes"], x["size"]), "of the cow")],
    native=voxelize_meshes,
    torch_op=voxelize_meshes_torch,
    pytorch3d=None,
    sizes=(64, 128, 256),
    quick_sizes=(64,),
    size_label="voxels per side",
    description="voxelize_meshes {what}, one float32 mesh",
)
