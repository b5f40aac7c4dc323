"""Benchmark cases of splatting points into volumes (run by ``r3d bench``).

``points_to_volumes_{mode}_fwd`` and ``..._fwd_bwd``:
add_points_features_to_volume_densities_features with trilinear or nearest splatting of
100k points with 3 features (a tenth of them outside the grid) into one ``size``^3 volume,
forward alone, and forward and backward w.r.t. the points (trilinear), their features and the
volumes. float32, features rescaled. Contenders: r3d (native kernels), its pure-PyTorch twin
and PyTorch3D when importable (which adds into its input volumes: every contender's call starts
from copies of them).

``add_pointclouds_to_volumes``: the same points, trilinear, forward and backward, through
add_pointclouds_to_volumes: one cloud with features into a Volumes of side ``size`` placed in the
world (each contender builds its library's Pointclouds and Volumes in the call).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import torch

from r3d.bench.contenders import register_op_cases
from r3d.ops import add_pointclouds_to_volumes, add_points_features_to_volume_densities_features

NUM_POINTS = 100_000
NUM_FEATURES = 3
# every case's sizes
SIZES = dict(sizes=(64, 128), quick_sizes=(32,), size_label="voxels per side")


def splat_inputs(size: int, device: torch.device, seed: int = 0) -> dict:
    """Points (1, P, 3) in [-1.1, 1.1], features (1, P, 3), zero volumes of side ``size`` and
    upstream gradients, the float inputs requiring grad."""
    gen = torch.Generator().manual_seed(seed)
    shape = (1, 1, size, size, size)

    def leaf(t: torch.Tensor) -> torch.Tensor:
        return t.to(device).requires_grad_(True)

    return {
        "points": leaf(torch.rand(1, NUM_POINTS, 3, generator=gen) * 2.2 - 1.1),
        "features": leaf(torch.rand(1, NUM_POINTS, NUM_FEATURES, generator=gen)),
        "densities": leaf(torch.zeros(shape)),
        "volume_features": leaf(torch.zeros((1, NUM_FEATURES, *shape[2:]))),
        "grad_features": torch.randn((1, NUM_FEATURES, *shape[2:]), generator=gen).to(device),
        "grad_densities": torch.randn(shape, generator=gen).to(device),
    }


def _call(op: Callable, mode: str, x: dict) -> tuple[torch.Tensor, torch.Tensor]:
    return op(x["points"], x["features"], x["densities"].clone(), x["volume_features"].clone(),
              mode=mode)


def _gradients(x: dict, mode: str, features: torch.Tensor, densities: torch.Tensor) -> tuple:
    inputs = [x["features"], x["densities"], x["volume_features"]]
    if mode == "trilinear":
        inputs.append(x["points"])
    return torch.autograd.grad((features, densities), inputs,
                               (x["grad_features"], x["grad_densities"]))


def _fwd(mode: str) -> Callable:
    def make_run(op: Callable) -> Callable:
        def run(x):
            with torch.no_grad():
                return _call(op, mode, x)

        return run

    return make_run


def _fwd_bwd(mode: str) -> Callable:
    def make_run(op: Callable) -> Callable:
        def run(x):
            return _gradients(x, mode, *_call(op, mode, x))

        return run

    return make_run


for _mode in ("trilinear", "nearest"):
    register_op_cases(
        f"points_to_volumes_{_mode}",
        [("_fwd", splat_inputs, _fwd(_mode), "forward"),
         ("_fwd_bwd", splat_inputs, _fwd_bwd(_mode), "forward + backward")],
        native=add_points_features_to_volume_densities_features,
        torch_op=functools.partial(add_points_features_to_volume_densities_features,
                                   _python=True),
        pytorch3d="pytorch3d.ops.add_points_features_to_volume_densities_features",
        **SIZES,
        description=f"add_points_features_to_volume_densities_features {{what}}, {_mode}, "
        f"{NUM_POINTS} points, {NUM_FEATURES} features, float32",
        mode=_mode,
    )


def _pointclouds_fwd_bwd(op: Callable) -> Callable:
    """Trilinear splatting through ``op`` (r3d's or PyTorch3D's add_pointclouds_to_volumes),
    with the Pointclouds and Volumes of ``op``'s library; the volume's voxels are 2 / size wide
    so that the cloud spans it as in the other cases."""
    module = getattr(op, "func", op).__module__  # through functools.partial
    structures = importlib.import_module(module.partition(".")[0] + ".structures")

    def run(x):
        size = x["densities"].shape[-1]
        clouds = structures.Pointclouds(x["points"], features=x["features"])
        volumes = structures.Volumes(densities=x["densities"].clone(),
                                     features=x["volume_features"].clone(),
                                     voxel_size=2.0 / (size - 1))
        out = op(clouds, volumes, mode="trilinear")
        return _gradients(x, "trilinear", out.features(), out.densities())

    return run


register_op_cases(
    "add_pointclouds_to_volumes",
    [("", splat_inputs, _pointclouds_fwd_bwd, "forward + backward")],
    native=add_pointclouds_to_volumes,
    torch_op=functools.partial(add_pointclouds_to_volumes, _python=True),
    pytorch3d="pytorch3d.ops.add_pointclouds_to_volumes",
    **SIZES,
    description=f"add_pointclouds_to_volumes {{what}} of a Pointclouds into a Volumes, trilinear, "
    f"{NUM_POINTS} points, {NUM_FEATURES} features, float32",
    mode="trilinear",
)
