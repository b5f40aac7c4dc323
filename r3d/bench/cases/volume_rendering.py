"""Benchmark cases of fused emission-absorption rendering of voxel grids (run by ``r3d bench``).

``volume_render_fused`` (forward + backward w.r.t. densities and features, from random upstream
gradients) and ``volume_render_fused_forward``: one volume of G^3 voxels (1 density + 3 feature
channels, float32, densities in [0, 0.05)) rendered at S x S pixels with P samples per ray, where
the case's size is S and G = P = S / 2 (the full size, 256, is issue 18's target: a 128^3 grid,
256 x 256 rays, 128 samples; quick runs: 32). The rays leave a pinhole 3 units in front of the
volume (which spans [-1, 1]^3 in world units) and sample it evenly between 1.5 and 4.5 units;
most cross it, those at the image's corners pass beside it. Contenders: r3d
(``emission_absorption_grid``, native kernel), its pure-PyTorch twin (grid_sample and the
raymarcher's formula) and, when importable, PyTorch3D's ``VolumeSampler`` followed by its
``EmissionAbsorptionRaymarcher``, the two stages of its ``VolumeRenderer``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.contenders import native_available, peer_op
from r3d.bench.registry import Contender, register_case
from r3d.ops import emission_absorption_grid
from r3d.ops.volume_rendering_torch import emission_absorption_grid_torch

SIZES = (128, 256)
QUICK_SIZES = (32,)
CHANNELS = 3
MAX_DENSITY = 0.05
PYTORCH3D = {
    name: f"pytorch3d.{path}" for name, path in (
        ("Volumes", "structures.Volumes"),
        ("RayBundle", "renderer.implicit.utils.RayBundle"),
        ("VolumeSampler", "renderer.VolumeSampler"),
        ("EmissionAbsorptionRaymarcher", "renderer.EmissionAbsorptionRaymarcher"),
    )
}


def _setup(backward: bool) -> Callable:
    def setup(size: int, device: torch.device) -> dict:
        G = P = size // 2
        gen = torch.Generator().manual_seed(0)
        side = torch.linspace(-0.5, 0.5, size)
        y, x = torch.meshgrid(side, side, indexing="ij")
        x = {
            "densities": torch.rand((1, 1, G, G, G), generator=gen) * MAX_DENSITY,
            "features": torch.rand((1, CHANNELS, G, G, G), generator=gen),
            "origins": torch.tensor([0.0, 0.0, -3.0]).expand(1, size, size, 3).contiguous(),
            "directions": torch.stack([x, y, torch.ones_like(x)], dim=-1)[None],
            "lengths": torch.linspace(1.5, 4.5, P).expand(1, size, size, P).contiguous(),
            "scale": torch.ones(1, 3),
            "shift": torch.zeros(1, 3),
        }
        x = {k: v.to(device) for k, v in x.items()}
        if backward:
            x["densities"].requires_grad_(True)
            x["features"].requires_grad_(True)
            x["grads"] = (torch.randn((1, size, size, CHANNELS), generator=gen).to(device),
                          torch.randn((1, size, size, 1), generator=gen).to(device))
        return x

    return setup


def _rays(x: dict) -> tuple:
    return tuple(x[k] for k in ("densities", "features", "origins", "directions", "lengths",
                                "scale", "shift"))


def _pytorch3d_render(x: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch3D's sampler and raymarcher on a Volumes whose world-to-local map is x's (the
    identity: voxel size 2 / (G - 1) with align_corners)."""
    ops = {name: peer_op(path)[0] for name, path in PYTORCH3D.items()}
    G = x["densities"].shape[-1]
    volumes = ops["Volumes"](densities=x["densities"], features=x["features"],
                             voxel_size=2.0 / (G - 1), align_corners=True)
    bundle = ops["RayBundle"](x["origins"], x["directions"], x["lengths"], None)
    out = ops["EmissionAbsorptionRaymarcher"]()(*ops["VolumeSampler"](volumes)(bundle))
    return out[..., :-1], out[..., -1:]


def _run(render: Callable, backward: bool) -> Callable:
    def run(x):
        features, opacities = render(x)
        if not backward:
            return features, opacities
        return torch.autograd.grad([features, opacities], [x["densities"], x["features"]],
                                   x["grads"])

    return run


def _pytorch3d_available(device: torch.device) -> str | None:
    return next((why for path in PYTORCH3D.values() if (why := peer_op(path)[1])), None)


for _suffix, _backward, _what in (("", True, "forward + backward w.r.t. densities and features"),
                                  ("_forward", False, "forward")):
    register_case(
        f"volume_render_fused{_suffix}",
        sizes=SIZES,
        quick_sizes=QUICK_SIZES,
        setup=_setup(_backward),
        size_label="pixels per side",
        description=f"emission-absorption rendering of one (S/2)^3 grid (1 + {CHANNELS} "
        f"channels) at S x S pixels, S/2 samples per ray, {_what}",
        contenders=[
            Contender("r3d", _run(lambda x: emission_absorption_grid(*_rays(x)), _backward),
                      "native", native_available),
            Contender("torch", _run(lambda x: emission_absorption_grid_torch(*_rays(x)),
                                    _backward), "torch"),
            Contender("pytorch3d", _run(_pytorch3d_render, _backward), "peer",
                      _pytorch3d_available),
        ],
    )
