"""Rendering of implicit fields and voxel volumes by ray marching (PyTorch3D's
``pytorch3d.renderer.implicit``): raysamplers, raymarchers, the harmonic embedding and the
implicit and volume renderers."""

from r3d.renderer.implicit.harmonic_embedding import HarmonicEmbedding
from r3d.renderer.implicit.raymarching import (
    AbsorptionOnlyRaymarcher,
    EmissionAbsorptionRaymarcher,
)
from r3d.renderer.implicit.raysampling import (
    GridRaysampler,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
)
from r3d.renderer.implicit.renderer import ImplicitRenderer, VolumeRenderer, VolumeSampler
from r3d.renderer.implicit.utils import (
    HeterogeneousRayBundle,
    RayBundle,
    ray_bundle_to_ray_points,
    ray_bundle_variables_to_ray_points,
)

__all__ = [
    "AbsorptionOnlyRaymarcher",
    "EmissionAbsorptionRaymarcher",
    "GridRaysampler",
    "HarmonicEmbedding",
    "HeterogeneousRayBundle",
    "ImplicitRenderer",
    "MonteCarloRaysampler",
    "MultinomialRaysampler",
    "NDCGridRaysampler",
    "NDCMultinomialRaysampler",
    "RayBundle",
    "VolumeRenderer",
    "VolumeSampler",
    "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
]
