"""Splatting points into volumes, of tensors and of Pointclouds into Volumes: hand-worked values,
the pure-PyTorch twin against PyTorch3D, gradients, argument errors."""

from __future__ import annotations

import pytest
import torch

from r3d import structures as r3d_structures
from r3d._native import points_to_volumes as bridge
from r3d._native import torch_only
from r3d.errors import InputError
from r3d.ops import add_pointclouds_to_volumes
from r3d.ops import add_points_features_to_volume_densities_features as add_points
from r3d.ops.points_to_volumes_torch import voxel_locations

DIMS = (5, 6, 7)  # D, H, W of the padded volumes


def random_batch(
    points_per_item: list[int],
    C: int = 3,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    spread: float = 1.3,
) -> dict:
    """Padded points (N, P, 3) in [-spread, spread] (some outside the grid), features, random
    volumes of DIMS with heterogeneous grid sizes and the mask of the valid points (empty items
    included)."""
    g = torch.Generator().manual_seed(seed)
    N, P = len(points_per_item), max(points_per_item, default=0)
    grid = torch.stack([torch.randint(1, d + 1, (N,), generator=g) for d in DIMS], 1)
    grid[0] = torch.tensor(DIMS)
    return dict(
        points_3d=((torch.rand((N, P, 3), generator=g, dtype=dtype) * 2 - 1) * spread),
        points_features=torch.randn((N, P, C), generator=g, dtype=dtype),
        volume_densities=torch.rand((N, 1, *DIMS), generator=g, dtype=dtype),
        volume_features=torch.randn((N, C, *DIMS), generator=g, dtype=dtype),
        mask=torch.arange(P)[None] < torch.tensor(points_per_item)[:, None],
        grid_sizes=grid,
    )


def splat(batch: dict, twin: bool = False, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    if twin:
        with torch_only():
            return add_points(**batch, **kwargs)
    return add_points(**batch, **kwargs)


def one_point(x: float, y: float, z: float, align_corners: bool = True, mode="trilinear"):
    """Densities and summed features of one point with feature 2 splatted at location (x, y, z)
    (voxel units) into an empty 4 x 4 x 4 volume."""
    G = 4
    loc = torch.tensor([[[x, y, z]]], dtype=torch.float64)
    p = (loc + 0.5 * (not align_corners)) / (G - align_corners) * 2 - 1
    features, densities = add_points(
        p, torch.full((1, 1, 1), 2.0, dtype=torch.float64),
        torch.zeros((1, 1, G, G, G), dtype=torch.float64), None, mode=mode,
        rescale_features=False, align_corners=align_corners,
    )
    return densities[0, 0], features[0, 0]


@pytest.mark.parametrize("align_corners", [True, False])
def test_point_at_voxel_centre(align_corners):
    densities, features = one_point(1.0, 2.0, 3.0, align_corners)
    expected = torch.zeros((4, 4, 4), dtype=torch.float64)
    expected[3, 2, 1] = 1.0  # (z, y, x)
    torch.testing.assert_close(densities, expected)
    torch.testing.assert_close(features, 2 * expected)


def test_point_between_two_voxels_splits_its_weight():
    densities, features = one_point(1.25, 2.0, 0.0)
    expected = torch.zeros((4, 4, 4), dtype=torch.float64)
    expected[0, 2, 1], expected[0, 2, 2] = 0.75, 0.25
    torch.testing.assert_close(densities, expected)
    torch.testing.assert_close(features, 2 * expected)


def test_point_half_a_voxel_outside_keeps_its_inside_share():
    # PyTorch3D's kernel gives weights 1.3 and -0.3 here (it truncates the location towards 0)
    densities, _ = one_point(-0.3, 1.0, 1.0)
    assert densities[1, 1, 0] == pytest.approx(0.7)
    assert densities.sum() == pytest.approx(0.7)


@pytest.mark.parametrize("x, voxel", [(1.4, 1), (1.5, 2), (2.6, 3), (-0.4, 0), (3.49, 3)])
def test_nearest_rounds_half_away_from_zero(x, voxel):
    densities, features = one_point(x, 0.0, 0.0, mode="nearest")
    assert densities.sum() == 1.0 and densities[0, 0, voxel] == 1.0
    assert features[0, 0, voxel] == 2.0


@pytest.mark.parametrize("x", [-0.6, 3.6, -7.0, 1e30])
def test_nearest_outside_adds_nothing(x):
    densities, features = one_point(x, 0.0, 0.0, mode="nearest")
    assert densities.abs().sum() == 0 and features.abs().sum() == 0


def test_rescaled_features_are_the_weighted_mean():
    p = torch.zeros((1, 3, 3), dtype=torch.float64)  # all at the centre voxel of a 3-grid
    f = torch.tensor([[[1.0], [2.0], [6.0]]], dtype=torch.float64)
    d0 = torch.zeros((1, 1, 3, 3, 3), dtype=torch.float64)
    for mode in ("trilinear", "nearest"):
        features, densities = add_points(p, f, d0, None, mode=mode)
        assert densities[0, 0, 1, 1, 1] == 3.0 and features[0, 0, 1, 1, 1] == 3.0
        assert features.abs().sum() == 3.0


def test_inputs_are_left_unchanged():
    batch = random_batch([9, 4])
    before = {k: v.clone() for k, v in batch.items()}
    splat(batch)
    for k, v in batch.items():
        assert torch.equal(v, before[k]), k


def test_empty_clouds_and_masked_points_add_nothing():
    batch = random_batch([0, 0])
    features, densities = splat(batch, rescale_features=False)
    torch.testing.assert_close(densities, batch["volume_densities"])
    torch.testing.assert_close(features, batch["volume_features"])
    batch = random_batch([6, 3])
    batch["mask"] = torch.zeros_like(batch["mask"])
    features, densities = splat(batch, mode="nearest", rescale_features=False)
    torch.testing.assert_close(densities, batch["volume_densities"])


def test_grid_sizes_restrict_items_to_their_corner():
    batch = random_batch([50, 60], spread=1.0)
    batch["volume_densities"].zero_()
    batch["grid_sizes"][1] = torch.tensor([2, 3, 4])
    _, densities = splat(batch, rescale_features=False)
    assert densities[1, 0, 2:].abs().sum() == 0
    assert densities[1, 0, :, 3:].abs().sum() == 0
    assert densities[1, 0, :, :, 4:].abs().sum() == 0
    # points inside [-1, 1]^3 with align_corners put all their weight in the grid
    assert densities[1].sum() == pytest.approx(60.0)


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_matches_twin(mode, align_corners, dtype):
    for seed, sizes in enumerate([[200, 0, 57, 130], [0], [1, 300], [40, 40, 0]]):
        batch = random_batch(sizes, C=3, dtype=dtype, seed=seed)
        leaves = ("points_3d", "points_features", "volume_densities", "volume_features")
        runs = []
        for twin in (False, True):
            inputs = {k: v.clone().requires_grad_() if k in leaves else v
                      for k, v in batch.items()}
            out = splat(inputs, twin=twin, mode=mode, align_corners=align_corners)
            g = torch.Generator().manual_seed(seed)
            sum((torch.randn(t.shape, generator=g, dtype=dtype) * t).sum() for t in out).backward()
            runs.append((out, [inputs[k].grad for k in leaves]))
        tol = dict(atol=1e-4, rtol=1e-4) if dtype == torch.float32 else {}
        for a, b in zip(runs[0][0], runs[1][0]):
            torch.testing.assert_close(a, b, **tol)
        for a, b in zip(runs[0][1], runs[1][1]):
            if a is None or b is None:
                assert a is None and b is None and mode == "nearest"
            else:
                torch.testing.assert_close(a, b, **tol)


def test_native_forward_does_not_depend_on_the_thread_count():
    batch = random_batch([3000, 2000], C=4, dtype=torch.float32, spread=1.0)
    batch["volume_densities"] = torch.zeros((2, 1, 40, 40, 40))
    batch["volume_features"] = torch.zeros((2, 4, 40, 40, 40))
    batch["grid_sizes"] = torch.tensor([[40, 40, 40], [17, 40, 23]])
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = splat(batch, rescale_features=False)
        torch.set_num_threads(3)
        three = splat(batch, rescale_features=False)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, three):
        assert torch.equal(a, b)


def test_python_flag_and_half_inputs():
    batch = random_batch([30, 12], dtype=torch.float32)
    expected = splat(batch, twin=True)
    for a, b in zip(splat(batch, _python=True), expected):
        torch.testing.assert_close(a, b)
    half = {k: v.half() if v.is_floating_point() else v for k, v in batch.items()}
    for a, b in zip(splat(half), expected):
        assert a.dtype == torch.float16
        torch.testing.assert_close(a.float(), b, atol=2e-2, rtol=2e-2)


def _pytorch3d():
    return pytest.importorskip("pytorch3d.ops")


def _avoid_truncation_zone(batch: dict, align_corners: bool) -> None:
    """Masks out the points with a location in (-2, 0) along some axis, where PyTorch3D's
    kernel truncates towards zero and splats negative weights (r3d floors)."""
    loc = voxel_locations(batch["points_3d"], batch["grid_sizes"], align_corners)
    batch["mask"] &= ((loc >= 0) | (loc <= -2)).all(-1)


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("twin", [False, True])
def test_matches_pytorch3d(mode, align_corners, twin):
    ops = _pytorch3d()
    batch = random_batch([80, 0, 33, 57], C=4, dtype=torch.float32)
    _avoid_truncation_zone(batch, align_corners)
    leaves = ("points_3d", "points_features", "volume_densities", "volume_features")
    ours = {k: v.requires_grad_() if k in leaves else v for k, v in batch.items()}
    theirs = {k: v.detach().clone().requires_grad_() if k in leaves else v
              for k, v in batch.items()}
    theirs["mask"] = batch["mask"].float()
    expected = ops.add_points_features_to_volume_densities_features(
        **{k: v.clone() if k.startswith("volume") else v for k, v in theirs.items()},
        mode=mode, align_corners=align_corners,
    )
    got = splat(ours, twin=twin, mode=mode, align_corners=align_corners)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-5)
    weights = [torch.randn_like(t) for t in got]
    sum((w * t).sum() for w, t in zip(weights, got)).backward()
    sum((w * t).sum() for w, t in zip(weights, expected)).backward()
    for k in leaves:
        if k == "points_3d" and mode == "nearest":
            assert ours[k].grad is None and theirs[k].grad is None
            continue
        torch.testing.assert_close(ours[k].grad, theirs[k].grad, atol=1e-3, rtol=1e-4)


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("twin", [False, True])
def test_gradcheck(mode, twin):
    batch = random_batch([4, 0, 3], C=2, spread=1.1)
    batch["volume_densities"] = batch["volume_densities"][..., :3, :2, :3].contiguous()
    batch["volume_features"] = batch["volume_features"][..., :3, :2, :3].contiguous()
    batch["grid_sizes"] = torch.tensor([[3, 2, 3], [1, 1, 1], [2, 2, 3]])
    names = ["points_3d", "points_features", "volume_densities", "volume_features"]
    if mode == "nearest":
        names = names[1:]

    def fn(*tensors):
        return splat({**batch, **dict(zip(names, tensors))}, twin=twin, mode=mode)

    inputs = [batch[k].requires_grad_() for k in names]
    assert torch.autograd.gradcheck(fn, inputs, atol=1e-6)


@pytest.mark.parametrize("change, match", [
    (dict(mode="linear"), "mode"),
    (dict(points_3d=torch.zeros(2, 4, 2)), "points_3d"),
    (dict(points_3d=torch.zeros(2, 4, 3, dtype=torch.int64)), "points_3d"),
    (dict(points_features=torch.zeros(2, 5, 3)), "points_features"),
    (dict(volume_densities=torch.zeros(2, 2, 5, 6, 7)), "volume_densities"),
    (dict(volume_features=torch.zeros(2, 3, 5, 6, 8)), "volume_features"),
    (dict(volume_features=torch.zeros(2, 3, 5, 6, 7, dtype=torch.float64)), "dtype"),
    (dict(mask=torch.ones(2, 3)), "mask"),
    (dict(grid_sizes=torch.tensor([[5, 6, 8], [1, 1, 1]])), "grid_sizes"),
    (dict(grid_sizes=torch.tensor([[5, 6, 7], [-1, 1, 1]])), "grid_sizes"),
    (dict(grid_sizes=torch.tensor([[5, 6, 7]])), "grid_sizes"),
    (dict(grid_sizes=torch.ones(2, 3)), "grid_sizes"),
    (dict(min_weight=0.0), "min_weight"),
    (dict(points_3d=torch.full((2, 4, 3), float("nan"))), "points_3d"),
])
@pytest.mark.parametrize("twin", [False, True])
def test_bad_arguments(change, match, twin):
    batch, change = random_batch([4, 2], dtype=torch.float32), dict(change)
    mode = change.pop("mode", "trilinear")
    kwargs = {"min_weight": change.pop("min_weight")} if "min_weight" in change else {}
    with pytest.raises(InputError, match=match):
        splat({**batch, **change}, twin=twin, mode=mode, **kwargs)


def test_bridge_checks_its_tensors():
    batch = random_batch([3, 2], dtype=torch.float32)
    args = [batch[k] for k in ("points_3d", "points_features", "volume_densities",
                               "volume_features", "grid_sizes", "mask")]
    with pytest.raises(InputError, match="grid_sizes"):
        bridge.points_to_volumes_forward(*args[:4], args[4] + 10, args[5], True, True)
    with pytest.raises(InputError, match="mask"):
        bridge.points_to_volumes_forward(*args[:5], args[5].float(), True, True)
    with pytest.raises(InputError, match="grad_features"):
        bridge.points_to_volumes_backward(args[0], args[1], args[4], args[5], args[2],
                                          args[3][:, :1].contiguous(), True, True, True, True)


# ---- add_pointclouds_to_volumes ------------------------------------------------------------

def random_scene(points_per_item: list[int], grids: list[tuple[int, int, int]], C: int = 3,
                 dtype: torch.dtype = torch.float32, seed: int = 0) -> dict:
    """Lists of clouds (world coordinates, some points outside their volume) with features, and
    of volumes of the given grid sizes with densities, features and per-item placement."""
    g = torch.Generator().manual_seed(seed)
    N = len(points_per_item)
    voxel_size = 0.2 + torch.rand((N, 3), generator=g, dtype=dtype) * 0.3
    translation = torch.randn((N, 3), generator=g, dtype=dtype) * 0.5
    points = []
    for n, (P, grid) in enumerate(zip(points_per_item, grids)):
        half = torch.tensor(grid[::-1], dtype=dtype) * voxel_size[n] / 2  # (x, y, z) extent
        local = (torch.rand((P, 3), generator=g, dtype=dtype) * 2 - 1) * 1.2
        points.append(local * half - translation[n])
    return dict(
        points=points,
        features=[torch.randn((P, C), generator=g, dtype=dtype) for P in points_per_item],
        densities=[torch.rand((1, *s), generator=g, dtype=dtype) for s in grids],
        volume_features=[torch.randn((C, *s), generator=g, dtype=dtype) for s in grids],
        voxel_size=voxel_size,
        volume_translation=translation,
    )


def scene_structures(scene: dict, structures, align_corners: bool = True):
    """(Pointclouds, Volumes) of ``structures`` (r3d.structures or pytorch3d.structures)."""
    clouds = structures.Pointclouds(scene["points"], features=scene["features"])
    volumes = structures.Volumes(
        densities=scene["densities"], features=scene["volume_features"],
        voxel_size=scene["voxel_size"], volume_translation=scene["volume_translation"],
        align_corners=align_corners,
    )
    return clouds, volumes


HETEROGENEOUS = ([70, 0, 41, 25], [(5, 6, 7), (3, 2, 4), (4, 6, 2), (1, 3, 5)])
# without a grid of one voxel along an axis (PyTorch3D's transform is singular there)
HETEROGENEOUS_P3D = (HETEROGENEOUS[0], HETEROGENEOUS[1][:3] + [(2, 3, 5)])


def _drop_truncation_zone(scene: dict, align_corners: bool) -> dict:
    """The scene without the points that PyTorch3D's kernel splats with negative weights
    (:func:`_avoid_truncation_zone`)."""
    clouds, volumes = scene_structures(scene, r3d_structures, align_corners)
    loc = voxel_locations(volumes.world_to_local_coords(clouds.points_padded()),
                          volumes.get_grid_sizes(), align_corners)
    keep = ((loc >= 0) | (loc <= -2)).all(-1)
    return {**scene, **{k: [t[keep[n, :len(t)]] for n, t in enumerate(scene[k])]
                        for k in ("points", "features")}}


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("rescale_features", [True, False])
def test_pointclouds_match_pytorch3d_on_heterogeneous_grids(mode, align_corners,
                                                            rescale_features):
    """PyTorch3D's add_pointclouds_to_volumes up to its last step (its Volumes.update_padded
    rejects batches of different grid sizes): world to local, mask, splat."""
    ops, structures = _pytorch3d(), pytest.importorskip("pytorch3d.structures")
    scene = _drop_truncation_zone(random_scene(*HETEROGENEOUS_P3D), align_corners)
    clouds, volumes = scene_structures(scene, r3d_structures, align_corners)
    got = add_pointclouds_to_volumes(clouds, volumes, mode=mode,
                                     rescale_features=rescale_features)
    p_clouds, p_volumes = scene_structures(scene, structures, align_corners)
    lengths = p_clouds.num_points_per_cloud()
    features, densities = ops.add_points_features_to_volume_densities_features(
        p_volumes.world_to_local_coords(p_clouds.points_padded()), p_clouds.features_padded(),
        p_volumes.densities().clone(), p_volumes.features().clone(), mode=mode,
        mask=(torch.arange(lengths.max())[None] < lengths[:, None]).float(),
        grid_sizes=p_volumes.get_grid_sizes(), rescale_features=rescale_features,
        align_corners=align_corners,
    )
    torch.testing.assert_close(got.densities(), densities, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.features(), features, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(got.get_grid_sizes(), volumes.get_grid_sizes())
    assert got.get_align_corners() == align_corners
    torch.testing.assert_close(got.get_coord_grid(), volumes.get_coord_grid())


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_pointclouds_match_pytorch3d_wrapper(mode, align_corners):
    ops, structures = _pytorch3d(), pytest.importorskip("pytorch3d.structures")
    scene = _drop_truncation_zone(random_scene([50, 0, 20], [(4, 5, 6)] * 3), align_corners)
    got = add_pointclouds_to_volumes(*scene_structures(scene, r3d_structures, align_corners),
                                     mode=mode)
    expected = ops.add_pointclouds_to_volumes(
        *scene_structures(scene, structures, align_corners), mode=mode)
    torch.testing.assert_close(got.densities(), expected.densities(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got.features(), expected.features(), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("python", [False, True])
def test_pointclouds_empty_item_keeps_its_volume(python):
    scene = random_scene(*HETEROGENEOUS)
    clouds, volumes = scene_structures(scene, r3d_structures)
    got = add_pointclouds_to_volumes(clouds, volumes, rescale_features=False, _python=python)
    for n, (d, f, d0, f0) in enumerate(zip(got.densities_list(), got.features_list(),
                                           volumes.densities_list(), volumes.features_list())):
        assert torch.equal(d, d0) == (n == 1)
        assert torch.equal(f, f0) == (n == 1)
    assert torch.equal(volumes.densities(), torch.stack(
        [torch.nn.functional.pad(d, (0, 7 - d.shape[3], 0, 6 - d.shape[2], 0, 5 - d.shape[1]))
         for d in scene["densities"]]))  # the initial volumes are left as they were


def test_pointclouds_without_volume_features_start_from_zeros():
    scene = random_scene([30, 12], [(4, 5, 6), (2, 3, 3)])
    clouds, volumes = scene_structures(scene, r3d_structures)
    bare = r3d_structures.Volumes(volumes.densities_list(), voxel_size=scene["voxel_size"],
                                  volume_translation=scene["volume_translation"])
    zeros = volumes.update_padded(volumes.densities(), torch.zeros_like(volumes.features()))
    got, expected = (add_pointclouds_to_volumes(clouds, v) for v in (bare, zeros))
    torch.testing.assert_close(got.densities(), expected.densities())
    torch.testing.assert_close(got.features(), expected.features())


@pytest.mark.parametrize("mode", ["trilinear", "nearest"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_pointclouds_native_matches_python(mode, align_corners):
    scene = random_scene(*HETEROGENEOUS, dtype=torch.float64, seed=3)
    clouds, volumes = scene_structures(scene, r3d_structures, align_corners)
    native = add_pointclouds_to_volumes(clouds, volumes, mode=mode)
    python = add_pointclouds_to_volumes(clouds, volumes, mode=mode, _python=True)
    with torch_only():
        twin = add_pointclouds_to_volumes(clouds, volumes, mode=mode)
    for other in (python, twin):
        torch.testing.assert_close(native.densities(), other.densities())
        torch.testing.assert_close(native.features(), other.features())


def test_pointclouds_gradients_reach_points_and_features():
    scene = random_scene([6, 0, 5], [(3, 2, 3), (1, 1, 1), (2, 3, 2)], C=2,
                         dtype=torch.float64, seed=5)
    names = ["points", "features"]

    def fn(*tensors):
        n = len(scene["points"])
        given = {k: list(tensors[i * n:(i + 1) * n]) for i, k in enumerate(names)}
        out = add_pointclouds_to_volumes(*scene_structures({**scene, **given}, r3d_structures))
        return out.densities(), out.features()

    leaves = [t.requires_grad_() for k in names for t in scene[k]]
    assert torch.autograd.gradcheck(fn, leaves, atol=1e-6)
    densities, features = fn(*leaves)
    (densities.sum() + features.square().sum()).backward()
    for t in leaves:
        assert t.grad is not None and t.grad.shape == t.shape
    assert all(t.grad.abs().sum() > 0 for t in leaves if len(t))


def _bad_wrapper_call(change: str):
    scene = random_scene([4, 2], [(3, 4, 5), (2, 2, 2)], C=3)
    clouds, volumes = scene_structures(scene, r3d_structures)
    kwargs = {}
    if change == "clouds":
        clouds = scene["points"]
    elif change == "volumes":
        volumes = scene["densities"]
    elif change == "batch":
        clouds = clouds[[0]]
    elif change == "no features":
        clouds = r3d_structures.Pointclouds(scene["points"])
    elif change == "feature channels":
        clouds = r3d_structures.Pointclouds(scene["points"],
                                            features=[f[:, :2] for f in scene["features"]])
    elif change == "density channels":
        volumes = volumes.update_padded(volumes.densities().expand(-1, 2, -1, -1, -1),
                                        volumes.features())
    elif change == "dtype":
        clouds = clouds.update_padded(clouds.points_padded().double(),
                                      new_features_padded=clouds.features_padded().double())
    else:
        kwargs = {"mode": "linear"} if change == "mode" else {"min_weight": 0.0}
    return add_pointclouds_to_volumes(clouds, volumes, **kwargs)


@pytest.mark.parametrize("change, match", [
    ("clouds", "pointclouds must be a Pointclouds"),
    ("volumes", "initial_volumes must be a Volumes"),
    ("batch", "same batch size"),
    ("no features", "must have features"),
    ("feature channels", "features must have the 2 channels"),
    ("density channels", "1 density channel"),
    ("dtype", "dtype"),
    ("mode", "mode"),
    ("min_weight", "min_weight"),
])
def test_pointclouds_bad_arguments(change, match):
    with pytest.raises(InputError, match=match):
        _bad_wrapper_call(change)
