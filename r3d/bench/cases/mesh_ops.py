"""Benchmark cases of the fragment and volume mesh operators (run by ``r3d bench``).

``interp_face_attrs_K{K}_fwd_bwd``: interpolate_face_attributes forward and backward w.r.t. the
barycentric coordinates and the face attributes, on N = 4 square images of ``size`` x ``size``
pixels with K fragments each (a fifth of them empty), D = 3, 10k faces, float32.
``marching_cubes``: a batch of one ``size``^3 volume holding a bumpy sphere's signed distance.
Contenders: r3d (native kernels), its pure-PyTorch twin and PyTorch3D when importable.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import IMAGE_SIZES
from r3d.bench.contenders import register_op_cases
from r3d.ops import interpolate_face_attributes, marching_cubes
from r3d.ops.marching_cubes import marching_cubes_torch
from r3d.structures.interp_face_attrs import interpolate_face_attributes_torch

NUM_IMAGES = 4
NUM_FACES = 10_000
ATTR_DIM = 3


def fragments(size: int, K: int, device: torch.device, seed: int = 0) -> dict:
    """Random fragments of N square images: pix_to_face, bary (requiring grad), attributes
    (requiring grad) and an upstream gradient."""
    gen = torch.Generator().manual_seed(seed)
    shape = (NUM_IMAGES, size, size, K)
    p2f = torch.randint(0, NUM_FACES, shape, generator=gen)
    p2f[torch.rand(shape, generator=gen) < 0.2] = -1
    bary = torch.rand(*shape, 3, generator=gen)
    return {
        "pix_to_face": p2f.to(device),
        "bary": (bary / bary.sum(-1, keepdim=True)).to(device).requires_grad_(True),
        "attrs": torch.randn(NUM_FACES, 3, ATTR_DIM, generator=gen).to(device)
        .requires_grad_(True),
        "grad": torch.randn(*shape, ATTR_DIM, generator=gen).to(device),
    }


def _interp_fwd_bwd(op: Callable) -> Callable:
    def run(x):
        out = op(x["pix_to_face"], x["bary"], x["attrs"])
        return torch.autograd.grad(out, (x["bary"], x["attrs"]), x["grad"])

    return run


# K -> the largest image side PyTorch3D is run at on the CPU (None: all): seconds a call above
PYTORCH3D_CPU_MAX_SIZE = {1: None, 10: 256}

for _K in (1, 10):
    register_op_cases(
        f"interp_face_attrs_K{_K}",
        [("_fwd_bwd", lambda size, device, K=_K: fragments(size, K, device), _interp_fwd_bwd,
          "forward + backward")],
        native=interpolate_face_attributes,
        torch_op=interpolate_face_attributes_torch,
        pytorch3d="pytorch3d.ops.interpolate_face_attributes",
        sizes=IMAGE_SIZES,
        quick_sizes=(64,),
        pytorch3d_cpu_max_size=PYTORCH3D_CPU_MAX_SIZE[_K],
        size_label="pixels per side",
        description=f"interpolate_face_attributes {{what}}, {NUM_IMAGES} images, K={_K}, "
        f"D={ATTR_DIM}, {NUM_FACES} faces, float32",
        K=_K,
    )


def sphere_volume(size: int, device: torch.device) -> dict:
    """(1, size, size, size) float32 signed distance to a sphere with a bumpy radius."""
    g = torch.linspace(-1, 1, size)
    z, y, x = torch.meshgrid(g, g, g, indexing="ij")
    radius = 0.6 + 0.05 * torch.sin(6 * x) * torch.sin(5 * y) * torch.sin(4 * z)
    return {"vol": ((x * x + y * y + z * z).sqrt() - radius)[None].to(device)}


register_op_cases(
    "marching_cubes",
    [("", sphere_volume, lambda op: lambda x: op(x["vol"], 0.0), "of a bumpy sphere")],
    native=marching_cubes,
    torch_op=marching_cubes_torch,
    pytorch3d="pytorch3d.ops.marching_cubes.marching_cubes",
    sizes=(64, 128, 256),
    quick_sizes=(64,),
    size_label="voxels per side",
    description="marching_cubes {what}, one float32 volume",
)
