"""r3d.renderer.implicit: raysamplers, raymarchers, the harmonic embedding and the implicit and
volume renderers, against PyTorch3D (when installed), hand-worked values and gradcheck."""

from __future__ import annotations

import math

import pytest
import torch

import r3d.renderer as r3d_renderer
from r3d.errors import InputError
from r3d.renderer import (
    AbsorptionOnlyRaymarcher,
    EmissionAbsorptionRaymarcher,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    GridRaysampler,
    HarmonicEmbedding,
    HeterogeneousRayBundle,
    ImplicitRenderer,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
    RayBundle,
    VolumeRenderer,
    VolumeSampler,
    look_at_view_transform,
    ray_bundle_to_ray_points,
)
from r3d.structures import Volumes
from r3d.transforms import random_rotations

N = 2
CAMERAS = {
    "FoVPerspectiveCameras": {"fov": 50.0, "znear": 0.5},
    "FoVOrthographicCameras": {"min_x": -1.2, "max_x": 1.2, "min_y": -1.5, "max_y": 1.5},
    "PerspectiveCameras": {"focal_length": [[2.0, 1.5]], "principal_point": [[0.1, -0.2]]},
    "OrthographicCameras": {"focal_length": [[2.0, 1.5]], "principal_point": [[0.1, -0.2]]},
    "PerspectiveCameras-screen": {"focal_length": [[60.0, 50.0]],
                                  "principal_point": [[30.0, 20.0]], "in_ndc": False,
                                  "image_size": [[48, 64]]},
}


def pose(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    R = random_rotations(N, generator=gen)
    return R, torch.randn(N, 3, generator=gen) + torch.tensor([0.0, 0.0, 4.0])


def camera_pair(kind: str, seed: int = 0) -> tuple:
    """The same cameras in r3d and PyTorch3D."""
    p3d_renderer = pytest.importorskip("pytorch3d.renderer")
    R, T = pose(seed)
    name = kind.split("-")[0]
    args = {k: torch.tensor(v * N) if isinstance(v, list) else v
            for k, v in CAMERAS[kind].items()}
    return getattr(r3d_renderer, name)(R=R, T=T, **args), \
        getattr(p3d_renderer, name)(R=R, T=T, **args)


def assert_bundles_close(ours, theirs, atol=1e-5):
    for field in ("origins", "directions", "lengths", "xys"):
        a, b = getattr(ours, field), getattr(theirs, field)
        assert a.shape == b.shape, field
        torch.testing.assert_close(a, b, atol=atol, rtol=1e-5, msg=field)


# ---- raysamplers against PyTorch3D -----------------------------------------------------------


@pytest.mark.parametrize("kind", CAMERAS)
@pytest.mark.parametrize("size", [(7, 5), (5, 7), (4, 4)])
def test_ndc_grid_rays_match_pytorch3d(kind, size):
    ours_cams, their_cams = camera_pair(kind)
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    W, H = size
    args = {"image_width": W, "image_height": H, "n_pts_per_ray": 6, "min_depth": 1.0,
            "max_depth": 3.0}
    ours = NDCMultinomialRaysampler(**args)(ours_cams)
    assert isinstance(ours, RayBundle) and ours.origins.shape == (N, H, W, 3)
    assert_bundles_close(ours, p3d.NDCMultinomialRaysampler(**args)(their_cams))
    unit = NDCMultinomialRaysampler(**args, unit_directions=True)(ours_cams)
    assert_bundles_close(unit, p3d.NDCMultinomialRaysampler(**args, unit_directions=True)(
        their_cams))
    assert_bundles_close(NDCGridRaysampler(**args)(ours_cams), ours, atol=0)


@pytest.mark.parametrize("kind", ["FoVPerspectiveCameras", "OrthographicCameras"])
def test_grid_rays_with_custom_bounds_match_pytorch3d(kind):
    ours_cams, their_cams = camera_pair(kind, seed=1)
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    args = {"min_x": -0.5, "max_x": 0.8, "min_y": 0.9, "max_y": -0.3, "image_width": 6,
            "image_height": 3, "n_pts_per_ray": 4, "min_depth": 0.5, "max_depth": 5.0}
    ours = MultinomialRaysampler(**args)(ours_cams)
    assert_bundles_close(ours, p3d.MultinomialRaysampler(**args)(their_cams))
    assert_bundles_close(GridRaysampler(**args)(ours_cams), ours, atol=0)
    # overrides at the call
    over = {"min_depth": 2.0, "max_depth": 3.0, "n_pts_per_ray": 3}
    assert_bundles_close(MultinomialRaysampler(**args)(ours_cams, **over),
                         p3d.MultinomialRaysampler(**args)(their_cams, **over))


def p3d_rays_through(their_cams, xys, n_pts=5, min_depth=1.0, max_depth=2.0):
    """PyTorch3D's rays through given image points (its private helper, as oracle)."""
    raysampling = pytest.importorskip("pytorch3d.renderer.implicit.raysampling")
    return raysampling._xy_to_ray_bundle(their_cams, xys, min_depth, max_depth, n_pts, False)


@pytest.mark.parametrize("kind", ["FoVPerspectiveCameras", "FoVOrthographicCameras"])
def test_drawn_rays_are_pytorch3d_rays_through_grid_pixels(kind):
    ours_cams, their_cams = camera_pair(kind)
    W, H, n = 5, 4, 7
    sampler = NDCMultinomialRaysampler(image_width=W, image_height=H, n_pts_per_ray=5,
                                       min_depth=1.0, max_depth=2.0, n_rays_per_image=n)
    bundle = sampler(ours_cams)
    assert bundle.origins.shape == (N, n, 1, 3) and bundle.xys.shape == (N, n, 1, 2)
    assert_bundles_close(bundle, p3d_rays_through(their_cams, bundle.xys))
    grid = sampler.pixel_grid(torch.float32, torch.device("cpu")).reshape(-1, 2)
    for xys in bundle.xys[:, :, 0]:  # distinct grid pixels
        matches = (xys[:, None] == grid[None]).all(-1)
        assert (matches.sum(1) == 1).all() and matches.any(0).sum() == n


def test_mask_draws_only_masked_pixels():
    ours_cams, their_cams = camera_pair("FoVPerspectiveCameras")
    W, H = 6, 5
    mask = torch.zeros(N, H, W, dtype=torch.bool)
    mask[0, 1:3, 2:5] = True  # 6 pixels
    mask[1, 4, :4] = True  # 4 pixels
    sampler = NDCMultinomialRaysampler(image_width=W, image_height=H, n_pts_per_ray=5,
                                       min_depth=1.0, max_depth=2.0)
    grid = sampler.pixel_grid(torch.float32, torch.device("cpu"))
    bundle = sampler(ours_cams, mask=mask)  # as many rays as the smallest mask has pixels
    assert bundle.xys.shape == (N, 4, 1, 2)
    assert_bundles_close(bundle, p3d_rays_through(their_cams, bundle.xys))
    for m, xys in zip(mask, bundle.xys[:, :, 0]):
        allowed = grid[m]
        matches = (xys[:, None] == allowed[None]).all(-1)
        assert (matches.sum(1) == 1).all() and matches.any(0).sum() == 4  # no repeats
    # more rays than camera 1 has pixels: camera 0 without, camera 1 with replacement
    many = sampler(ours_cams, mask=mask, n_rays_per_image=6)
    for m, xys in zip(mask, many.xys[:, :, 0]):
        assert (xys[:, None] == grid[m][None]).all(-1).any(1).all()
    assert len(torch.unique(many.xys[0, :, 0], dim=0)) == 6
    weighted = sampler(ours_cams, mask=mask.float() * 0.5, n_rays_per_image=3)
    assert weighted.xys.shape == (N, 3, 1, 2)


@pytest.mark.parametrize("heterogeneous", [False, True])
def test_monte_carlo_rays_are_pytorch3d_rays(heterogeneous):
    ours_cams, their_cams = camera_pair("FoVPerspectiveCameras")
    counts = {"n_rays_total": 9} if heterogeneous else {"n_rays_per_image": None}
    sampler = MonteCarloRaysampler(-0.5, 0.7, -0.9, 0.2, 11 if not heterogeneous else None, 5,
                                   1.0, 2.0, **{k: v for k, v in counts.items() if v})
    bundle = sampler(ours_cams)
    xys = bundle.xys
    assert (xys[..., 0] >= -0.5).all() and (xys[..., 0] <= 0.7).all()
    assert (xys[..., 1] >= -0.9).all() and (xys[..., 1] <= 0.2).all()
    if not heterogeneous:
        assert isinstance(bundle, RayBundle) and bundle.origins.shape == (N, 11, 3)
        assert_bundles_close(bundle, p3d_rays_through(their_cams, xys))
        return
    assert isinstance(bundle, HeterogeneousRayBundle)
    assert bundle.origins.shape == (9, 1, 3) and bundle.lengths.shape == (9, 1, 5)
    assert int(bundle.camera_counts.sum()) == 9
    ids = bundle.camera_ids.repeat_interleave(bundle.camera_counts)
    assert_bundles_close(bundle, p3d_rays_through(their_cams[ids], xys))


def test_heterogeneous_grid_rays_follow_their_cameras():
    ours_cams, their_cams = camera_pair("PerspectiveCameras")
    sampler = NDCMultinomialRaysampler(image_width=4, image_height=3, n_pts_per_ray=5,
                                       min_depth=1.0, max_depth=2.0, n_rays_total=10)
    torch.manual_seed(3)
    bundle = sampler(ours_cams)
    assert isinstance(bundle, HeterogeneousRayBundle)
    assert bundle.origins.shape == (10, 1, 1, 3) and bundle.xys.shape == (10, 1, 1, 2)
    assert bundle.camera_ids.dtype == torch.int64 and int(bundle.camera_counts.sum()) == 10
    ids = bundle.camera_ids.repeat_interleave(bundle.camera_counts)
    theirs = p3d_rays_through(their_cams[ids], bundle.xys[:, 0])
    for field in ("origins", "directions", "lengths"):
        torch.testing.assert_close(getattr(bundle, field)[:, 0], getattr(theirs, field))
    # perspective rays start at their camera's centre
    torch.testing.assert_close(bundle.origins[:, 0, 0], ours_cams.get_camera_center()[ids])


def test_stratified_lengths_stay_in_their_strata():
    cams = FoVPerspectiveCameras(R=pose()[0], T=pose()[1])
    sampler = NDCMultinomialRaysampler(image_width=3, image_height=3, n_pts_per_ray=5,
                                       min_depth=1.0, max_depth=3.0, stratified_sampling=True)
    lengths = sampler(cams).lengths
    edges = torch.tensor([1.0, 1.25, 1.75, 2.25, 2.75, 3.0])
    assert (lengths >= edges[:-1]).all() and (lengths <= edges[1:]).all()
    assert not torch.equal(lengths[0, 0, 0], torch.linspace(1, 3, 5))
    plain = sampler(cams, stratified_sampling=False).lengths
    torch.testing.assert_close(plain, torch.linspace(1.0, 3.0, 5).expand(N, 3, 3, 5))


def test_rays_keep_float64():
    R, T = pose()
    cams = FoVPerspectiveCameras(R=R.double(), T=T.double())
    bundle = NDCMultinomialRaysampler(image_width=3, image_height=2, n_pts_per_ray=4,
                                      min_depth=1.0, max_depth=2.0)(cams)
    assert all(t.dtype == torch.float64 for t in bundle)
    points = ray_bundle_to_ray_points(bundle)  # at depths 1 .. 2 in view space
    view = cams.get_world_to_view_transform().transform_points(points.reshape(N, -1, 3))
    torch.testing.assert_close(view[..., 2].reshape(N, 2, 3, 4),
                               torch.linspace(1, 2, 4, dtype=torch.float64).expand(N, 2, 3, 4))


# ---- raymarchers and the harmonic embedding against PyTorch3D -------------------------------


@pytest.mark.parametrize("thickness", [1, 2, 7])
def test_emission_absorption_matches_pytorch3d(thickness):
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    gen = torch.Generator().manual_seed(0)
    densities = torch.rand(2, 3, 4, 6, 1, generator=gen)
    densities[0, 0, 0] = 1.0  # a fully opaque ray
    features = torch.randn(2, 3, 4, 6, 5, generator=gen)
    ours = EmissionAbsorptionRaymarcher(thickness)(densities, features)
    assert ours.shape == (2, 3, 4, 6)
    torch.testing.assert_close(
        ours, p3d.EmissionAbsorptionRaymarcher(thickness)(densities, features))
    torch.testing.assert_close(
        EmissionAbsorptionRaymarcher(thickness)(densities, features, eps=1e-3),
        p3d.EmissionAbsorptionRaymarcher(thickness)(densities, features, eps=1e-3))
    torch.testing.assert_close(AbsorptionOnlyRaymarcher()(densities),
                               p3d.AbsorptionOnlyRaymarcher()(densities))


@pytest.mark.parametrize("logspace", [True, False])
@pytest.mark.parametrize("append_input", [True, False])
def test_harmonic_embedding_matches_pytorch3d(logspace, append_input):
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    x = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(0))
    cov = torch.rand(4, 5, 3)
    args = {"n_harmonic_functions": 5, "omega_0": 0.7, "logspace": logspace,
            "append_input": append_input}
    ours, theirs = HarmonicEmbedding(**args), p3d.HarmonicEmbedding(**args)
    assert ours(x).shape == (4, 5, ours.get_output_dim())
    assert ours.get_output_dim(7) == theirs.get_output_dim(7)
    assert HarmonicEmbedding.get_output_dim_static(3, 5, append_input) == theirs.get_output_dim()
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours(x, diag_cov=cov), theirs(x, diag_cov=cov), atol=1e-5,
                               rtol=1e-5)


def test_harmonic_embedding_layout():
    x = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    emb = HarmonicEmbedding(n_harmonic_functions=2)(x)  # frequencies 1, 2
    phases = torch.tensor([0.5, 1.0, -1.0, -2.0], dtype=torch.float64)  # coordinate-major
    torch.testing.assert_close(emb[0], torch.cat([phases.sin(), phases.cos(), x[0]]))


# ---- renderers -------------------------------------------------------------------------------


def sphere_field(ray_bundle, **kwargs):
    """A fuzzy coloured sphere of radius 1 at the origin."""
    points = ray_bundle_to_ray_points(ray_bundle)
    densities = torch.sigmoid(8.0 * (1.0 - points.norm(dim=-1, keepdim=True)))
    return densities, torch.nn.functional.normalize(points, dim=-1) * 0.5 + 0.5


def test_implicit_renderer_matches_pytorch3d():
    ours_cams, their_cams = camera_pair("FoVPerspectiveCameras")
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    args = {"image_width": 6, "image_height": 5, "n_pts_per_ray": 32, "min_depth": 2.0,
            "max_depth": 6.0}
    ours, bundle = ImplicitRenderer(NDCMultinomialRaysampler(**args),
                                    EmissionAbsorptionRaymarcher())(ours_cams, sphere_field)
    theirs, _ = p3d.ImplicitRenderer(p3d.NDCMultinomialRaysampler(**args),
                                     p3d.EmissionAbsorptionRaymarcher())(their_cams, sphere_field)
    assert ours.shape == (N, 5, 6, 4) and isinstance(bundle, RayBundle)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert ours[..., 3].max() > 0.5  # the sphere is in view


def test_implicit_renderer_renders_heterogeneous_bundles():
    cams = FoVPerspectiveCameras(R=pose()[0], T=pose()[1])
    sampler = NDCMultinomialRaysampler(image_width=6, image_height=5, n_pts_per_ray=16,
                                       min_depth=2.0, max_depth=6.0)
    renderer = ImplicitRenderer(sampler, EmissionAbsorptionRaymarcher())
    full, _ = renderer(cams, sphere_field)
    images, bundle = renderer(cams, sphere_field, n_rays_total=12)
    assert isinstance(bundle, HeterogeneousRayBundle) and images.shape == (12, 1, 1, 4)
    # each packed ray renders as the same pixel of the full image of its camera
    ids = bundle.camera_ids.repeat_interleave(bundle.camera_counts)
    grid = sampler.pixel_grid(torch.float32, torch.device("cpu")).reshape(-1, 2)
    pixel = (bundle.xys[:, 0, 0, None] == grid[None]).all(-1).int().argmax(1)
    torch.testing.assert_close(images[:, 0, 0], full.reshape(N, -1, 4)[ids, pixel])


def test_renderer_passes_its_arguments_on():
    seen = {}

    def field(ray_bundle, cameras, scale, **kwargs):
        seen.update(cameras=cameras, scale=scale)
        d, f = sphere_field(ray_bundle)
        return d * scale, f

    cams = FoVPerspectiveCameras(R=pose()[0], T=pose()[1])
    sampler = NDCMultinomialRaysampler(image_width=3, image_height=3, n_pts_per_ray=8,
                                       min_depth=2.0, max_depth=6.0)
    images, _ = ImplicitRenderer(sampler, AbsorptionOnlyRaymarcher())(cams, field, scale=0.0)
    assert seen["cameras"] is cams and seen["scale"] == 0.0
    assert images.shape == (N, 3, 3, 1) and (images == 0).all()


def cube_volumes(densities, features=None, **kwargs):
    """Volumes whose grids fill the cube [-1, 1]^3 of world space (their local frame)."""
    return Volumes(densities, features, voxel_size=2 / (densities.shape[-1] - 1), **kwargs)


def random_cube_volumes(size: int = 6, dtype=torch.float32, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return cube_volumes(torch.rand(N, 1, size, size, size, generator=gen, dtype=dtype),
                       torch.rand(N, 3, size, size, size, generator=gen, dtype=dtype))


@pytest.mark.parametrize("sample_mode", ["bilinear", "nearest"])
def test_volume_renderer_matches_pytorch3d(sample_mode):
    ours_cams, their_cams = camera_pair("FoVPerspectiveCameras")
    p3d = pytest.importorskip("pytorch3d.renderer.implicit")
    volumes = random_cube_volumes()
    # PyTorch3D's Volumes of the same grids: voxel size 2 / (size - 1) centres them on [-1, 1]
    p3d_structures = pytest.importorskip("pytorch3d.structures")
    their_volumes = p3d_structures.Volumes(densities=volumes.densities(),
                                           features=volumes.features(), voxel_size=2 / 5)
    args = {"image_width": 7, "image_height": 5, "n_pts_per_ray": 40, "min_depth": 2.0,
            "max_depth": 6.0}
    ours, _ = VolumeRenderer(NDCMultinomialRaysampler(**args), EmissionAbsorptionRaymarcher(),
                             sample_mode=sample_mode)(ours_cams, volumes)
    theirs, _ = p3d.VolumeRenderer(p3d.NDCMultinomialRaysampler(**args),
                                   p3d.EmissionAbsorptionRaymarcher(),
                                   sample_mode=sample_mode)(their_cams, their_volumes)
    assert ours.shape == (N, 5, 7, 4)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    assert ours[..., 3].max() > 0.5


def test_volume_sampler_moves_rays_into_the_local_frame():
    volumes = random_cube_volumes()
    # world = 2 * local + (1, 0, 0): the cube spans x in [-1, 3], y and z in [-2, 2]
    moved = Volumes(volumes.densities(), volumes.features(), voxel_size=0.8,
                    volume_translation=(-1.0, 0.0, 0.0))
    gen = torch.Generator().manual_seed(1)
    origins, directions = torch.randn(N, 5, 3, generator=gen), torch.randn(N, 5, 3, generator=gen)
    lengths = torch.rand(N, 5, 4, generator=gen)
    world = RayBundle(origins * 2 + torch.tensor([1.0, 0, 0]), directions * 2, lengths,
                      torch.zeros(N, 5, 2))
    local = RayBundle(origins, directions, lengths, torch.zeros(N, 5, 2))
    for ours, expected in zip(VolumeSampler(moved)(world), VolumeSampler(volumes)(local)):
        torch.testing.assert_close(ours, expected)
    densities, features = VolumeSampler(cube_volumes(volumes.densities()))(local)
    assert densities.shape == (N, 5, 4, 1) and features.shape == (N, 5, 4, 0)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("sample_mode", ["bilinear", "nearest"])
def test_grids_of_different_sizes_sample_as_one_by_one(align_corners, padding_mode, sample_mode):
    gen = torch.Generator().manual_seed(2)
    sizes = [(4, 5, 6), (6, 2, 3)]
    densities = [torch.rand(1, *size, generator=gen) for size in sizes]
    features = [torch.rand(2, *size, generator=gen) for size in sizes]
    args = {"voxel_size": 0.3, "align_corners": align_corners}
    batch = Volumes(densities, features, **args)
    bundle = RayBundle(torch.rand(N, 7, 3, generator=gen) * 1.2 - 0.6,  # in and around them
                       torch.randn(N, 7, 3, generator=gen) * 0.3,
                       torch.rand(N, 7, 8, generator=gen), torch.zeros(N, 7, 2))
    together = VolumeSampler(batch, sample_mode, padding_mode)(bundle)
    for n in range(N):
        alone = VolumeSampler(Volumes(densities[n][None], features[n][None], **args),
                              sample_mode, padding_mode)(RayBundle(*(t[n:n + 1] for t in bundle)))
        for a, b in zip(alone, together):
            torch.testing.assert_close(a[0], b[n])
    assert together[0].abs().sum() > 0
    with pytest.raises(InputError, match="reflection"):
        VolumeSampler(batch, padding_mode="reflection")


# ---- hand-worked values ----------------------------------------------------------------------


def straight_down_z(n_pts: int, min_depth: float, max_depth: float, size: int = 3):
    """Orthographic cameras looking along +Z from z = 0, and their rays."""
    cams = FoVOrthographicCameras(R=torch.eye(3)[None], T=torch.zeros(1, 3))
    sampler = NDCMultinomialRaysampler(image_width=size, image_height=size, n_pts_per_ray=n_pts,
                                       min_depth=min_depth, max_depth=max_depth)
    return cams, sampler


@pytest.mark.parametrize("thickness_in_steps", [1, 4, 10])
def test_constant_density_slab_transmits_exp_minus_sigma_d(thickness_in_steps):
    sigma, step, start = 1.7, 0.05, 1.0
    cams, sampler = straight_down_z(81, 0.0, 4.0)  # a sample every 0.05
    d = thickness_in_steps * step

    def slab(ray_bundle, **kwargs):
        z = ray_bundle_to_ray_points(ray_bundle)[..., 2:]
        inside = (z > start - step / 2) & (z < start + d - step / 2)  # thickness_in_steps samples
        opacity = torch.where(inside, 1 - torch.exp(torch.tensor(-sigma * step)), 0.0)
        return opacity, torch.ones_like(z).expand(*z.shape[:-1], 3) * 0.25

    opacity, _ = ImplicitRenderer(sampler, AbsorptionOnlyRaymarcher())(cams, slab)
    torch.testing.assert_close(1 - opacity, torch.full_like(opacity, math.exp(-sigma * d)))
    images, _ = ImplicitRenderer(sampler, EmissionAbsorptionRaymarcher())(cams, slab, eps=0.0)
    torch.testing.assert_close(images[..., 3:], opacity)
    torch.testing.assert_close(images[..., :3], 0.25 * opacity.expand(-1, -1, -1, 3))


def test_single_opaque_voxel():
    densities = torch.zeros(1, 1, 5, 5, 5)
    densities[0, 0, 2, 2, 2] = 1.0  # the centre voxel: [-0.25, 0.25]^3 when sampled nearest
    features = torch.zeros(1, 3, 5, 5, 5)
    features[0, :, 2, 2, 2] = torch.tensor([0.2, 0.4, 0.6])
    cams = FoVOrthographicCameras(R=torch.eye(3)[None], T=torch.tensor([[0.0, 0.0, 2.0]]))
    sampler = NDCMultinomialRaysampler(image_width=5, image_height=5, n_pts_per_ray=41,
                                       min_depth=1.0, max_depth=3.0)
    images, _ = VolumeRenderer(sampler, EmissionAbsorptionRaymarcher(), sample_mode="nearest")(
        cams, cube_volumes(densities, features))
    # pixel centres at x, y = 0.8, 0.4, 0, -0.4, -0.8: only the middle ray meets the voxel
    expected = torch.zeros(1, 5, 5, 4)
    expected[0, 2, 2] = torch.tensor([0.2, 0.4, 0.6, 1.0])
    torch.testing.assert_close(images, expected)


# ---- gradients -------------------------------------------------------------------------------


def test_raymarchers_gradcheck():
    gen = torch.Generator().manual_seed(0)
    densities = (torch.rand(2, 3, 5, 1, generator=gen, dtype=torch.float64) * 0.8 + 0.1) \
        .requires_grad_()
    features = torch.randn(2, 3, 5, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    for thickness in (1, 2):
        assert torch.autograd.gradcheck(
            lambda d, f, t=thickness: EmissionAbsorptionRaymarcher(t)(d, f, eps=1e-3),
            (densities, features))
    assert torch.autograd.gradcheck(AbsorptionOnlyRaymarcher(), (densities,))


def test_volume_sampler_gradcheck():
    gen = torch.Generator().manual_seed(0)
    densities = torch.rand(N, 1, 4, 4, 4, generator=gen, dtype=torch.float64,
                           requires_grad=True)
    features = torch.rand(N, 2, 4, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    bundle = RayBundle(torch.rand(N, 3, 3, generator=gen, dtype=torch.float64) - 0.5,
                       torch.randn(N, 3, 3, generator=gen, dtype=torch.float64),
                       torch.rand(N, 3, 4, generator=gen, dtype=torch.float64) * 0.5,
                       torch.zeros(N, 3, 2, dtype=torch.float64))

    def sample(d, f):
        return VolumeSampler(cube_volumes(d, f))(bundle)

    assert torch.autograd.gradcheck(sample, (densities, features))


# ---- bad arguments ---------------------------------------------------------------------------


def test_densities_outside_0_1_raise():
    features = torch.rand(2, 4, 3)
    for bad in (torch.full((2, 4, 1), 1.5), torch.full((2, 4, 1), -0.1),
                torch.full((2, 4, 1), float("nan"))):
        with pytest.raises(InputError, match=r"rays_densities must be .* in \[0, 1\]"):
            EmissionAbsorptionRaymarcher()(bad, features)
        with pytest.raises(InputError, match=r"in \[0, 1\]"):
            AbsorptionOnlyRaymarcher()(bad)


def test_bad_raymarcher_inputs_raise():
    ok = torch.rand(2, 4, 1)
    with pytest.raises(InputError, match="rays_densities must be a float tensor of shape"):
        EmissionAbsorptionRaymarcher()(torch.rand(2, 4, 2), torch.rand(2, 4, 3))
    with pytest.raises(InputError, match="rays_features must be"):
        EmissionAbsorptionRaymarcher()(ok, torch.rand(2, 5, 3))
    with pytest.raises(InputError, match="rays_features must be"):
        EmissionAbsorptionRaymarcher()(ok, torch.rand(2, 4, 3, dtype=torch.float64))
    with pytest.raises(InputError, match="surface_thickness"):
        EmissionAbsorptionRaymarcher(0)


def test_bad_raysampler_arguments_raise():
    args = {"image_width": 4, "image_height": 3, "n_pts_per_ray": 5, "min_depth": 1.0,
            "max_depth": 2.0}
    cams = FoVPerspectiveCameras(R=pose()[0], T=pose()[1])
    with pytest.raises(InputError, match="image_width"):
        NDCMultinomialRaysampler(**{**args, "image_width": 0})
    with pytest.raises(InputError, match="min_depth"):
        NDCMultinomialRaysampler(**{**args, "min_depth": float("nan")})
    with pytest.raises(InputError, match="n_pts_per_ray"):
        NDCMultinomialRaysampler(**{**args, "n_pts_per_ray": 2.5})
    sampler = NDCMultinomialRaysampler(**args)
    with pytest.raises(InputError, match="cannot both be given"):
        sampler(cams, n_rays_total=3, n_rays_per_image=2)
    with pytest.raises(InputError, match="cameras must be"):
        sampler(torch.eye(3))
    with pytest.raises(InputError, match=r"mask must be .* shape \(2, 3, 4\)"):
        sampler(cams, mask=torch.ones(2, 4, 3))
    with pytest.raises(InputError, match="negative"):
        sampler(cams, mask=-torch.ones(2, 3, 4))
    empty = torch.ones(2, 3, 4, dtype=torch.bool)
    empty[1] = False
    with pytest.raises(InputError, match="at least one pixel"):
        sampler(cams, mask=empty, n_rays_per_image=2)
    with pytest.raises(InputError, match="exactly one of n_rays_per_image and n_rays_total"):
        MonteCarloRaysampler(-1, 1, -1, 1, None, 5, 1.0, 2.0)
    with pytest.raises(InputError, match="exactly one"):
        MonteCarloRaysampler(-1, 1, -1, 1, 4, 5, 1.0, 2.0, n_rays_total=4)


def test_bad_renderer_and_sampler_arguments_raise():
    sampler = NDCMultinomialRaysampler(image_width=3, image_height=3, n_pts_per_ray=4,
                                       min_depth=1.0, max_depth=2.0)
    with pytest.raises(InputError, match="raymarcher must be callable"):
        ImplicitRenderer(sampler, 3)
    cams = FoVPerspectiveCameras(R=pose()[0], T=pose()[1])
    with pytest.raises(InputError, match="volumetric_function must be callable"):
        ImplicitRenderer(sampler, AbsorptionOnlyRaymarcher())(cams, "field")
    with pytest.raises(InputError, match="sample_mode must be one of"):
        VolumeRenderer(sampler, AbsorptionOnlyRaymarcher(), sample_mode="bicubic")
    volumes = random_cube_volumes()
    with pytest.raises(InputError, match="padding_mode must be one of"):
        VolumeSampler(volumes, padding_mode="wrap")
    with pytest.raises(InputError, match="volumes must be a Volumes object"):
        VolumeSampler(torch.zeros(1, 1, 2, 2, 2))
    bundle = sampler(cams[0])  # one camera, two volumes
    with pytest.raises(InputError, match="same batch size"):
        VolumeSampler(volumes)(bundle)
    # the fused path (density + features, emission-absorption) checks the rays the same way
    with pytest.raises(InputError, match="VolumeRenderer.forward: .* same batch size"):
        VolumeRenderer(sampler, EmissionAbsorptionRaymarcher())(cams[0], volumes)
    with pytest.raises(InputError, match="ray_bundle.lengths must be"):
        VolumeSampler(volumes)(bundle._replace(lengths=torch.ones(3)))
    with pytest.raises(InputError, match="same leading dimensions"):
        VolumeSampler(volumes)(bundle._replace(directions=bundle.directions[..., :2]))
    with pytest.raises(InputError, match="x must be a float tensor"):
        HarmonicEmbedding()(torch.ones(3, dtype=torch.int64))
    with pytest.raises(InputError, match="diag_cov"):
        HarmonicEmbedding()(torch.ones(2, 3), diag_cov=torch.ones(3))


@pytest.mark.parametrize("thickness", [1, 2])
def test_volume_renderer_fuses_sampling_and_marching(thickness):
    """VolumeRenderer with the emission-absorption raymarcher runs the fused kernel
    (r3d.ops.emission_absorption_grid): the same images and grid gradients as sampling the
    volume and marching the samples (ImplicitRenderer + VolumeSampler)."""
    g = torch.Generator().manual_seed(3)
    densities = torch.rand(2, 1, 5, 6, 7, generator=g).requires_grad_()
    features = torch.rand(2, 3, 5, 6, 7, generator=g).requires_grad_()
    volumes = Volumes(densities=densities, features=features, voxel_size=0.3,
                      volume_translation=(0.1, -0.2, 0.05))
    R, T = look_at_view_transform(dist=[2.5, 3.0], elev=[10, 40], azim=[30, 200])
    cameras = FoVPerspectiveCameras(R=R, T=T)
    sampler = NDCMultinomialRaysampler(image_width=9, image_height=8, n_pts_per_ray=20,
                                       min_depth=1.0, max_depth=4.0)
    marcher = EmissionAbsorptionRaymarcher(surface_thickness=thickness)
    fused, _ = VolumeRenderer(sampler, marcher)(cameras=cameras, volumes=volumes)
    composed, _ = ImplicitRenderer(sampler, marcher)(
        cameras=cameras, volumetric_function=VolumeSampler(volumes))
    assert fused.shape == composed.shape == (2, 8, 9, 4)
    assert torch.allclose(fused, composed, atol=1e-5)
    weights = torch.rand(fused.shape, generator=g)
    got = torch.autograd.grad((fused * weights).sum(), (densities, features))
    want = torch.autograd.grad((composed * weights).sum(), (densities, features))
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-5)
