"""Benchmark case of the volume renderer (run by ``r3d bench``).

``volume_render_fwd_bwd``: a VolumeRenderer (NDCMultinomialRaysampler over the whole image,
EmissionAbsorptionRaymarcher, trilinear sampling) renders one volume of G^3 voxels (G, the
case's size: 64 and 128; 32 in quick runs) holding 1 density channel (a fuzzy ball of
per-sample opacities) and 3 feature channels, seen by a perspective camera at 2G x 2G pixels
with G points per ray, forward and backward w.r.t. the densities and the features from a random
upstream gradient, float32. Contenders: r3d (the baseline) and PyTorch3D when importable, each
with its own cameras, Volumes and renderer.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.contenders import peer_op
from r3d.bench.registry import Contender, register_case
from r3d.renderer import (
    EmissionAbsorptionRaymarcher,
    FoVPerspectiveCameras,
    NDCMultinomialRaysampler,
    VolumeRenderer,
)
from r3d.structures import Volumes

SIZES = (64, 128)
QUICK_SIZES = (32,)
# the classes a contender renders with, by name
CLASSES = ("Volumes", "FoVPerspectiveCameras", "NDCMultinomialRaysampler",
           "EmissionAbsorptionRaymarcher", "VolumeRenderer")
PYTORCH3D_PATHS = {name: f"pytorch3d.{'structures' if name == 'Volumes' else 'renderer'}.{name}"
                   for name in CLASSES}


def fuzzy_ball(size: int, device: torch.device) -> dict:
    """A (1, 1, G, G, G) density volume (a ball of opacity 0.1 per sample, soft edged, with a
    little noise) and (1, 3, G, G, G) random features, both requiring grad; the camera pose
    (R (1, 3, 3), T (1, 3): 3 units before the volume) and a (1, 2G, 2G, 4) upstream gradient."""
    gen = torch.Generator().manual_seed(0)
    g = torch.linspace(-1.0, 1.0, size)
    z, y, x = torch.meshgrid(g, g, g, indexing="ij")
    radius = (x * x + y * y + z * z).sqrt()
    densities = 0.1 * torch.sigmoid(20.0 * (0.7 - radius)) \
        + 0.01 * torch.rand(size, size, size, generator=gen)
    return {
        "densities": densities[None, None].to(device).requires_grad_(True),
        "features": torch.rand(1, 3, size, size, size, generator=gen).to(device)
        .requires_grad_(True),
        "R": torch.eye(3)[None].to(device),
        "T": torch.tensor([[0.0, 0.0, 3.0]], device=device),
        "grad": torch.randn(1, 2 * size, 2 * size, 4, generator=gen).to(device),
    }


def render_fwd_bwd(classes: Callable[[], dict]) -> Callable[[dict], tuple]:
    """A run rendering the inputs with the classes ``classes()`` names (looked up at the first
    call) and taking the gradients w.r.t. densities and features."""

    def run(x: dict) -> tuple:
        c = classes()
        size = x["densities"].shape[-1]
        volumes = c["Volumes"](densities=x["densities"], features=x["features"],
                               voxel_size=2.0 / (size - 1))
        renderer = c["VolumeRenderer"](
            raysampler=c["NDCMultinomialRaysampler"](
                image_width=2 * size, image_height=2 * size, n_pts_per_ray=size,
                min_depth=1.5, max_depth=4.5),
            raymarcher=c["EmissionAbsorptionRaymarcher"](),
        )
        cameras = c["FoVPerspectiveCameras"](R=x["R"], T=x["T"], fov=45.0)
        images, _ = renderer(cameras=cameras, volumes=volumes)
        return torch.autograd.grad(images, (x["densities"], x["features"]), x["grad"])

    return run


def r3d_classes() -> dict:
    return {"Volumes": Volumes, "FoVPerspectiveCameras": FoVPerspectiveCameras,
            "NDCMultinomialRaysampler": NDCMultinomialRaysampler,
            "EmissionAbsorptionRaymarcher": EmissionAbsorptionRaymarcher,
            "VolumeRenderer": VolumeRenderer}


def pytorch3d_classes() -> dict:
    return {name: peer_op(path)[0] for name, path in PYTORCH3D_PATHS.items()}


def _pytorch3d_available(device: torch.device) -> str | None:
    return next((why for path in PYTORCH3D_PATHS.values() if (why := peer_op(path)[1])), None)


register_case(
    "volume_render_fwd_bwd",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    setup=fuzzy_ball,
    size_label="voxels per side",
    description="VolumeRenderer forward + backward: one G^3 volume (1 density + 3 feature "
    "channels) at 2G x 2G pixels, G points per ray, trilinear, emission-absorption, float32",
    contenders=[
        Contender("r3d", render_fwd_bwd(r3d_classes), "native"),
        Contender("pytorch3d", render_fwd_bwd(pytorch3d_classes), "peer",
                  available=_pytorch3d_available),
    ],
)
