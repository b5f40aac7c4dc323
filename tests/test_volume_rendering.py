"""Fused emission-absorption rendering of voxel grids: the twin against PyTorch3D's
VolumeSampler + EmissionAbsorptionRaymarcher, the native kernels against the twin (both grid
layouts, both align_corners, surface thicknesses, empty ray sets), gradcheck, hand-worked values
and argument errors."""

from __future__ import annotations

import pytest
import torch

from r3d._native import volume_rendering as bridge
from r3d.errors import InputError
from r3d.ops import emission_absorption_grid
from r3d.ops.volume_rendering import emission_absorption_grid_op
from r3d.ops.volume_rendering_torch import emission_absorption_grid_torch

D64 = torch.float64


def random_scene(N=2, C=3, size=(5, 6, 7), rays=(4, 5), P=9, dtype=D64, seed=0,
                 grad=True) -> dict:
    """Random grids of ``size`` (D, H, W) with densities in [0, 1), and rays of which some
    points fall outside the grids (the local coordinates reach about +-1.6)."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(shape, generator=g, dtype=dtype)

    scene = {
        "densities": rand(N, 1, *size),
        "features": rand(N, C, *size) * 2 - 1,
        "origins": (rand(N, *rays, 3) * 2 - 1) * 0.8,
        "directions": rand(N, *rays, 3) * 2 - 1,
        "lengths": rand(N, *rays, P).sort(dim=-1).values * 1.5,
        "scale": rand(N, 3) + 0.5,
        "shift": (rand(N, 3) * 2 - 1) * 0.2,
    }
    if grad:
        scene["densities"].requires_grad_(True)
        scene["features"].requires_grad_(True)
    return scene


def render_and_grads(fn, scene: dict, seed: int = 1, **kwargs):
    """fn's features and opacities, and the gradients of a random linear function of them
    w.r.t. densities and features."""
    features, opacities = fn(**scene, **kwargs)
    g = torch.Generator().manual_seed(seed)
    loss = (features * torch.randn(features.shape, generator=g, dtype=features.dtype)).sum() \
        + (opacities * torch.randn(opacities.shape, generator=g, dtype=features.dtype)).sum()
    grads = torch.autograd.grad(loss, [scene["densities"], scene["features"]], allow_unused=True)
    return features, opacities, *grads


def test_twin_matches_pytorch3d():
    pytorch3d = pytest.importorskip("pytorch3d.renderer")
    from pytorch3d.renderer.implicit.utils import RayBundle
    from pytorch3d.structures import Volumes

    scene = random_scene(dtype=torch.float32, grad=False)
    voxel_size = torch.tensor([[0.1, 0.2, 0.3], [0.25, 0.25, 0.25]])
    for align_corners in (True, False):
        volumes = Volumes(densities=scene["densities"], features=scene["features"],
                          voxel_size=voxel_size, volume_translation=torch.tensor(
                              [[0.1, 0.0, -0.2], [0.0, 0.3, 0.0]]),
                          align_corners=align_corners)
        matrix = volumes.get_world_to_local_coords_transform().get_matrix()
        scale, shift = torch.diagonal(matrix[:, :3, :3], dim1=1, dim2=2), matrix[:, 3, :3]
        bundle = RayBundle(scene["origins"], scene["directions"], scene["lengths"], None)
        ray_densities, ray_features = pytorch3d.VolumeSampler(volumes)(bundle)
        for thickness in (1, 2, 12):
            want = pytorch3d.EmissionAbsorptionRaymarcher(thickness)(ray_densities, ray_features)
            features, opacities = emission_absorption_grid_torch(
                **{**scene, "scale": scale, "shift": shift}, align_corners=align_corners,
                surface_thickness=thickness)
            torch.testing.assert_close(torch.cat([features, opacities], dim=-1), want)


@pytest.mark.parametrize("dtype", [torch.float32, D64])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("thickness", [1, 2, 11])
@pytest.mark.parametrize("C", [3, 0])
def test_native_matches_twin(dtype, align_corners, thickness, C):
    scene = random_scene(C=C, dtype=dtype, seed=thickness + 10 * C)
    kwargs = {"align_corners": align_corners, "surface_thickness": thickness}
    got = render_and_grads(emission_absorption_grid, scene, **kwargs)
    want = render_and_grads(emission_absorption_grid_torch, scene, **kwargs)
    assert got[0].shape == (2, 4, 5, C) and got[1].shape == (2, 4, 5, 1)
    assert got[1].abs().max() > 0.5  # the rays do cross the grids
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("channels_last", [False, True])
def test_op_takes_both_grid_layouts(channels_last):
    """The op on a contiguous or a channels-last (N, 1 + C, D, H, W) grid: same values, and
    the gradient comes back in the grid's layout."""
    scene = random_scene(size=(3, 8, 4), rays=(6,), P=12, seed=3, grad=False)
    grid = torch.cat([scene["densities"], scene["features"]], dim=1)
    if channels_last:
        grid = grid.contiguous(memory_format=torch.channels_last_3d)
    grid.requires_grad_(True)
    rays = [scene[k] for k in ("origins", "directions", "lengths", "scale", "shift")]
    features, opacities, _ = emission_absorption_grid_op(grid, *rays, False, 2, 1e-10, True)
    want = emission_absorption_grid_torch(grid[:, :1], grid[:, 1:], *rays, False, 2)
    torch.testing.assert_close(features, want[0])
    torch.testing.assert_close(opacities, want[1])
    grad = torch.autograd.grad((features.sum() + opacities.sum()), grid)[0]
    want_grad = torch.autograd.grad((want[0].sum() + want[1].sum()), grid)[0]
    torch.testing.assert_close(grad, want_grad)
    assert bridge.grid_memory_format(grad) == bridge.grid_memory_format(grid)


def test_gradcheck_native():
    scene = random_scene(N=2, C=2, size=(3, 4, 5), rays=(3,), P=6, seed=5, grad=False)
    rays = [scene[k] for k in ("origins", "directions", "lengths", "scale", "shift")]
    for thickness in (1, 3):
        def fn(densities, features, thickness=thickness):
            return emission_absorption_grid(densities, features, *rays,
                                            surface_thickness=thickness)

        inputs = (scene["densities"].requires_grad_(True),
                  scene["features"].requires_grad_(True))
        assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("align_corners", [True, False])
def test_constant_grid_hand_worked(align_corners):
    """A grid of constant density d and features f, every sample inside: after k samples the
    opacity is 1 - (1 - d)^k and the features f (1 - (1 - d)^k) (up to eps)."""
    d, f = 0.3, torch.tensor([0.25, -2.0], dtype=D64)
    densities = torch.full((1, 1, 4, 5, 6), d, dtype=D64)
    features = f.view(1, 2, 1, 1, 1).expand(1, 2, 4, 5, 6).contiguous()
    P = 7
    origins = torch.tensor([[[-0.5, -0.5, -0.5], [0.2, 0.1, 0.0]]], dtype=D64)
    directions = torch.tensor([[[1.0, 1.0, 1.0], [-0.1, 0.0, 0.05]]], dtype=D64) / P
    scale, shift = torch.ones(1, 3, dtype=D64), torch.zeros(1, 3, dtype=D64)
    for k in range(P + 1):
        lengths = torch.arange(k, dtype=D64).expand(1, 2, k).contiguous()
        features_k, opacities = emission_absorption_grid(
            densities, features, origins, directions, lengths, scale, shift, align_corners)
        opacity = 1 - (1 - d) ** k
        torch.testing.assert_close(opacities, torch.full((1, 2, 1), opacity, dtype=D64))
        torch.testing.assert_close(features_k, (f * opacity).expand(1, 2, 2))


def test_thickness_two_delays_absorption_by_a_sample():
    """With surface_thickness 2 the first two samples are unattenuated: density d, features
    1, two samples -> 2 d."""
    densities = torch.full((1, 1, 2, 2, 2), 0.5, dtype=D64)
    features = torch.ones((1, 1, 2, 2, 2), dtype=D64)
    rays = (torch.zeros(1, 1, 3, dtype=D64), torch.tensor([[[0.0, 0.0, 0.1]]], dtype=D64),
            torch.tensor([[[0.0, 1.0]]], dtype=D64), torch.ones(1, 3, dtype=D64),
            torch.zeros(1, 3, dtype=D64))
    for thickness, want in ((1, 0.75), (2, 1.0)):
        features_out, opacities = emission_absorption_grid(densities, features, *rays,
                                                           surface_thickness=thickness)
        torch.testing.assert_close(features_out, torch.full((1, 1, 1), want, dtype=D64))
        torch.testing.assert_close(opacities, torch.full((1, 1, 1), 0.75, dtype=D64))


def test_points_outside_render_nothing():
    scene = random_scene(rays=(5,), seed=7, grad=False)
    scene["origins"] = torch.full_like(scene["origins"], 5.0)
    scene["origins"][0, 0] = float("nan")
    features, opacities = emission_absorption_grid(**scene)
    assert not features.any() and not opacities.any()


@pytest.mark.parametrize("rays,P", [((0,), 5), ((3, 0), 5), ((4,), 0)])
def test_empty_rays_and_samples(rays, P):
    scene = random_scene(rays=rays, P=P, seed=8)
    got = render_and_grads(emission_absorption_grid, scene)
    want = render_and_grads(emission_absorption_grid_torch, scene)
    assert got[0].shape == (2, *rays, 3) and got[1].shape == (2, *rays, 1)
    assert not got[0].any() and not got[1].any()
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)


def test_ray_gradients_fall_back_to_the_twin():
    scene = random_scene(rays=(6,), seed=9)
    for name in ("origins", "directions", "lengths", "scale", "shift"):
        scene[name].requires_grad_(True)
    got = emission_absorption_grid(**scene)
    grads = torch.autograd.grad(got[0].sum() + got[1].sum(),
                                [scene[k] for k in ("origins", "lengths", "scale")])
    assert all(g.abs().sum() > 0 for g in grads)
    inputs = tuple(scene.values())
    assert torch.autograd.gradcheck(lambda *t: emission_absorption_grid(*t), inputs)


def test_half_inputs_run_in_float32():
    scene = random_scene(rays=(6,), seed=10, grad=False, dtype=torch.float32)
    half = {k: v.half() for k, v in scene.items()}
    features, opacities = emission_absorption_grid(**half)
    assert features.dtype == opacities.dtype == torch.float16
    want = emission_absorption_grid_torch(**{k: v.float() for k, v in half.items()})
    torch.testing.assert_close(features.float(), want[0], atol=1e-2, rtol=1e-2)


def test_bad_arguments():
    scene = random_scene(rays=(4,), grad=False)
    bad = {
        "densities": scene["densities"].expand(2, 2, 5, 6, 7),
        "features": scene["features"].float(),
        "origins": scene["origins"][..., :2],
        "directions": scene["directions"][:1],
        "lengths": scene["lengths"][:, :3],
        "scale": scene["scale"][:, :2],
        "shift": scene["shift"].view(2, 3, 1),
    }
    for name, value in bad.items():
        with pytest.raises(InputError, match=name):
            emission_absorption_grid(**{**scene, name: value})
    with pytest.raises(InputError, match="features"):
        emission_absorption_grid(**{**scene, "features": scene["features"][:, :, :4]})
    with pytest.raises(InputError, match="densities"):
        emission_absorption_grid(**{**scene, "densities": torch.zeros(2, 1, 0, 6, 7, dtype=D64)})
    for thickness in (0, True, 1.0):
        with pytest.raises(InputError, match="surface_thickness"):
            emission_absorption_grid(**scene, surface_thickness=thickness)
    with pytest.raises(InputError, match="grid"):
        bridge.ea_grid_forward(torch.zeros(2, 0, 5, 6, 7, dtype=D64), *(
            scene[k] for k in ("origins", "directions", "lengths", "scale", "shift")),
            True, 1, 1e-10, False)
