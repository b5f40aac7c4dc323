import pytest
import torch

from r3d.errors import InputError
from r3d.structures import Pointclouds, join_pointclouds_as_batch, join_pointclouds_as_scene

SIZES = [5, 0, 1, 8]


def clouds(dtype=torch.float32, seed=0, sizes=SIZES, channels=4):
    g = torch.Generator().manual_seed(seed)
    points = [torch.randn(n, 3, generator=g, dtype=torch.float64).to(dtype) for n in sizes]
    normals = [torch.randn(n, 3, generator=g, dtype=torch.float64).to(dtype) for n in sizes]
    features = [torch.rand(n, channels, generator=g, dtype=torch.float64).to(dtype)
                for n in sizes]
    return points, normals, features


def loop_padded(items, size):
    out = torch.zeros((len(items), size) + tuple(items[0].shape[1:]), dtype=items[0].dtype)
    for i, t in enumerate(items):
        out[i, : t.shape[0]] = t
    return out


def test_from_lists_views_and_index_tensors():
    points, normals, features = clouds()
    pc = Pointclouds(points, normals=normals, features=features)
    assert len(pc) == 4 and not pc.isempty() and not pc.equisized
    assert pc.valid.tolist() == [True, False, True, True]
    assert pc.num_points_per_cloud().tolist() == SIZES
    for name, items in (("points", points), ("normals", normals), ("features", features)):
        got = getattr(pc, f"{name}_list")()
        assert all(torch.equal(a, b) for a, b in zip(got, items))
        torch.testing.assert_close(getattr(pc, f"{name}_packed")(), torch.cat(items))
        torch.testing.assert_close(getattr(pc, f"{name}_padded")(), loop_padded(items, 8))
    first, to_cloud, p2p, start = [], [], [], 0
    for i, n in enumerate(SIZES):
        first.append(start)
        to_cloud += [i] * n
        p2p += [i * 8 + j for j in range(n)]
        start += n
    assert pc.cloud_to_packed_first_idx().tolist() == first
    assert pc.packed_to_cloud_idx().tolist() == to_cloud
    assert pc.padded_to_packed_idx().tolist() == p2p
    p, n, f = pc.get_cloud(3)
    assert torch.equal(p, points[3]) and torch.equal(n, normals[3]) and torch.equal(f, features[3])


def test_from_padded():
    points = torch.randn(3, 6, 3)
    features = torch.rand(3, 6, 2)
    pc = Pointclouds(points, features=features)
    assert pc.num_points_per_cloud().tolist() == [6, 6, 6] and pc.equisized
    assert pc.points_padded() is points
    assert pc.normals_list() is None and pc.normals_padded() is None
    torch.testing.assert_close(pc.points_packed(), points.reshape(-1, 3))
    torch.testing.assert_close(pc.features_list()[1], features[1])
    # padded normals with list points
    pts, nrm, _ = clouds()
    pc = Pointclouds(pts, normals=loop_padded(nrm, 8))
    torch.testing.assert_close(pc.normals_packed(), torch.cat(nrm))


def test_empty():
    pc = Pointclouds([])
    assert len(pc) == 0 and pc.isempty() and pc.points_packed().shape == (0, 3)
    pc = Pointclouds([torch.zeros(0, 3), torch.zeros(0, 3)])
    assert pc.isempty() and pc.points_padded().shape == (2, 0, 3)
    assert torch.equal(pc.get_bounding_boxes(), torch.zeros(2, 3, 2))


@pytest.mark.parametrize(
    "index, items",
    [
        (0, [0]), (-2, [2]), (slice(None, None, -1), [3, 2, 1, 0]), ([1, 3], [1, 3]),
        (torch.tensor([False, True, True, False]), [1, 2]), (torch.tensor([3]), [3]),
    ],
)
def test_getitem(index, items):
    points, normals, features = clouds()
    sub = Pointclouds(points, normals, features)[index]
    assert len(sub) == len(items)
    for j, i in enumerate(items):
        assert torch.equal(sub.points_list()[j], points[i])
        assert torch.equal(sub.normals_list()[j], normals[i])
        assert torch.equal(sub.features_list()[j], features[i])


def test_getitem_empty_selection_keeps_fields():
    points, normals, features = clouds()
    sub = Pointclouds(points, normals, features)[[]]
    assert len(sub) == 0 and sub.features_packed().shape == (0, 4)


def test_extend_split_join():
    points, normals, features = clouds()
    pc = Pointclouds(points, normals, features)
    ext = pc.extend(3)
    assert len(ext) == 12
    for i in range(12):
        assert torch.equal(ext.points_list()[i], points[i // 3])
        assert torch.equal(ext.features_list()[i], features[i // 3])
    parts = pc.split([2, 2])
    assert [len(p) for p in parts] == [2, 2]
    joined = join_pointclouds_as_batch(parts)
    torch.testing.assert_close(joined.points_padded(), pc.points_padded())
    torch.testing.assert_close(joined.features_packed(), pc.features_packed())
    scene = join_pointclouds_as_scene(parts)
    assert len(scene) == 1
    torch.testing.assert_close(scene.points_packed(), torch.cat(points))
    torch.testing.assert_close(scene.normals_packed(), torch.cat(normals))
    assert join_pointclouds_as_scene(scene) is scene
    with pytest.raises(InputError, match="normals"):
        join_pointclouds_as_batch([pc, Pointclouds(points)])
    with pytest.raises(InputError, match="channels"):
        join_pointclouds_as_batch([pc, Pointclouds(*clouds(channels=2))])
    with pytest.raises(InputError, match="add up"):
        pc.split([5])


def test_offset_scale_and_gradients():
    points, normals, _ = clouds(torch.float64)
    points = [p.requires_grad_() for p in points]
    pc = Pointclouds(points, normals)
    off = torch.randn(14, 3, dtype=torch.float64)
    moved = pc.offset(off)
    torch.testing.assert_close(moved.points_packed(), torch.cat(points) + off)
    torch.testing.assert_close(moved.normals_packed(), torch.cat(normals))
    shift = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(pc.offset(shift).points_list()[3], points[3] + shift)
    scale = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    scaled = pc.scale(scale)
    torch.testing.assert_close(scaled.points_padded(), pc.points_padded() * scale[:, None, None])
    torch.testing.assert_close(pc.points_packed(), torch.cat(points))  # out of place
    pc.scale_(2.0).offset_(shift)
    torch.testing.assert_close(pc.points_padded(), loop_padded([p * 2 + shift for p in points], 8))
    pc.points_padded().sum().backward()
    torch.testing.assert_close(points[3].grad, torch.full((8, 3), 2.0, dtype=torch.float64))
    with pytest.raises(InputError, match="offsets_packed"):
        pc.offset(torch.zeros(2, 3, dtype=torch.float64))


def test_gradcheck_views():
    points, _, features = clouds(torch.float64, sizes=[3, 0, 2])
    leaves = tuple(p.requires_grad_() for p in points + features)

    def fn(*xs):
        pc = Pointclouds(list(xs[:3]), features=list(xs[3:]))
        return (pc.points_padded(), pc.features_padded(), pc.get_bounding_boxes(),
                pc[[2, 0]].points_packed(), pc.scale(3.0).points_padded())

    assert torch.autograd.gradcheck(fn, leaves)


def test_bounding_boxes_and_inside_box():
    points, _, _ = clouds()
    pc = Pointclouds(points)
    boxes = pc.get_bounding_boxes()
    for i, p in enumerate(points):
        if len(p):
            torch.testing.assert_close(boxes[i], torch.stack([p.min(0).values, p.max(0).values], 1))
    box = torch.tensor([[-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]])
    inside = pc.inside_box(box)
    packed = pc.points_packed()
    assert torch.equal(inside, ((packed >= -0.5) & (packed <= 0.5)).all(1))
    per_cloud = torch.stack([box * (i + 1) for i in range(4)])
    inside = pc.inside_box(per_cloud)
    scale = (pc.packed_to_cloud_idx() + 1).float()[:, None]
    assert torch.equal(inside, ((packed >= -0.5 * scale) & (packed <= 0.5 * scale)).all(1))
    with pytest.raises(InputError, match="minima"):
        pc.inside_box(box.flip(0))
    with pytest.raises(InputError, match=r"\(2, 3\)"):
        pc.inside_box(torch.zeros(3, 2, 3))


def test_update_padded():
    points, normals, features = clouds()
    pc = Pointclouds(points, normals, features)
    new_points = torch.randn(4, 8, 3)
    new = pc.update_padded(new_points)
    assert new.num_points_per_cloud().tolist() == SIZES
    torch.testing.assert_close(new.points_list()[0], new_points[0, :5])
    torch.testing.assert_close(new.normals_packed(), pc.normals_packed())
    new_features = torch.rand(4, 8, 4)
    new = pc.update_padded(new_points, new_features_padded=new_features)
    torch.testing.assert_close(new.features_list()[3], new_features[3])
    torch.testing.assert_close(pc.points_packed(), torch.cat(points))
    with pytest.raises(InputError, match=r"\(4, 8, 4\)"):
        pc.update_padded(new_points, new_features_padded=torch.rand(4, 8, 3))


def test_subsample():
    points, normals, features = clouds()
    pc = Pointclouds(points, normals, features)
    assert pc.subsample(8) is pc
    sub = pc.subsample(3, generator=torch.Generator().manual_seed(0))
    assert sub.num_points_per_cloud().tolist() == [3, 0, 1, 3]
    for i in (0, 3):
        # the kept rows are the same rows of points, normals and features, in order
        rows = [int((points[i] == p).all(1).nonzero()) for p in sub.points_list()[i]]
        assert rows == sorted(rows)
        torch.testing.assert_close(sub.normals_list()[i], normals[i][rows])
        torch.testing.assert_close(sub.features_list()[i], features[i][rows])
    sub = pc.subsample([5, 0, 0, 2])
    assert sub.num_points_per_cloud().tolist() == [5, 0, 0, 2]
    with pytest.raises(InputError, match="max_points"):
        pc.subsample([1, 2])


def test_clone_detach_to():
    points, normals, _ = clouds()
    points[0].requires_grad_()
    pc = Pointclouds(points, normals)
    _ = pc.points_padded()
    c = pc.clone()
    assert c.points_packed() is not pc.points_packed() and c.points_packed().requires_grad
    c.offset_(torch.ones(3))
    torch.testing.assert_close(pc.points_list()[0], points[0])
    assert not pc.detach().points_padded().requires_grad
    assert pc.to("cpu") is pc and pc.cpu() is pc


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(points=torch.zeros(2, 3)), r"\(N, P, 3\)"),
        (dict(points=[torch.zeros(2, 2)]), r"points\[0\].*\(K, 3\)"),
        (dict(points=[torch.zeros(2, 3, dtype=torch.int64)]), "floating-point"),
        (dict(points="abc"), "points must be"),
        (dict(points=[torch.zeros(2, 3)], normals=[torch.zeros(3, 3)]), r"\[2\] rows"),
        (dict(points=[torch.zeros(2, 3)], normals=[torch.zeros(2, 3)] * 2), "list of 1"),
        (dict(points=[torch.zeros(2, 3)], features=torch.zeros(1, 3, 2)), r"\(1, 2, C\)"),
        (dict(points=[torch.zeros(2, 3), torch.zeros(1, 3)],
              features=[torch.zeros(2, 2), torch.zeros(1, 3)]), r"features\[1\]"),
        (dict(points=[torch.zeros(2, 3)], normals=[torch.zeros(2, 3, device="meta")]),
         r"normals\[0\] must be on cpu"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(InputError, match=match):
        Pointclouds(**kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_to_cuda():
    points, normals, features = clouds()
    pc = Pointclouds(points, normals, features)
    g = pc.to("cuda")
    assert g.points_padded().is_cuda and g.padded_to_packed_idx().is_cuda
    torch.testing.assert_close(g.features_padded().cpu(), pc.features_padded())
    assert g.inside_box(torch.ones(2, 3, device="cuda")).is_cuda
