"""Transform3d and its subclasses: row-vector convention, lazy composition, inverses, normals,
batching and input errors."""

import math

import pytest
import torch

from r3d.errors import InputError
from r3d.transforms import (
    Rotate,
    RotateAxisAngle,
    Scale,
    Transform3d,
    Translate,
    axis_angle_to_matrix,
    random_rotations,
    se3_exp_map,
    se3_log_map,
)
from r3d.transforms.math import cross

F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def affine(linear, translation):
    """Explicit (4, 4) row-vector matrix [[linear, 0], [translation, 1]]."""
    M = torch.eye(4, dtype=linear.dtype)
    M[:3, :3] = linear
    M[3, :3] = translation
    return M


def test_leaf_transforms_follow_the_row_vector_convention():
    p = torch.randn(10, 3, generator=gen(), dtype=F64)
    t = torch.tensor([1.0, -2.0, 3.0], dtype=F64)
    torch.testing.assert_close(Translate(t[None]).transform_points(p), p + t)
    torch.testing.assert_close(Translate(1.0, -2.0, 3.0, dtype=F64).transform_points(p), p + t)
    s = torch.tensor([2.0, 3.0, 0.5], dtype=F64)
    torch.testing.assert_close(Scale(s[None]).transform_points(p), p * s)
    torch.testing.assert_close(Scale(2.0, dtype=F64).transform_points(p), 2 * p)
    R = random_rotations(1, dtype=F64, generator=gen(1))[0]
    torch.testing.assert_close(Rotate(R).transform_points(p), p @ R)
    torch.testing.assert_close(
        Translate(t[None]).get_matrix()[0], affine(torch.eye(3, dtype=F64), t)
    )
    assert Transform3d().get_matrix().shape == (1, 4, 4)
    assert Translate(1, 2, 3).dtype == torch.float32


def test_rotate_axis_angle():
    x, y, z = torch.eye(3, dtype=F64)
    rz = RotateAxisAngle(90.0, axis="Z", dtype=F64)
    torch.testing.assert_close(rz.transform_points(x[None]), y[None])
    rx = RotateAxisAngle(math.pi / 2, axis="x", degrees=False, dtype=F64)
    torch.testing.assert_close(rx.transform_points(y[None]), z[None])
    angles = torch.tensor([0.0, 30.0, 200.0], dtype=F64)
    batch = RotateAxisAngle(angles, axis="Y")
    assert len(batch) == 3 and batch.dtype == F64
    expected = axis_angle_to_matrix(y * torch.deg2rad(angles)[:, None])
    torch.testing.assert_close(batch.get_matrix()[:, :3, :3], expected.transpose(1, 2))


def test_composition_matches_explicit_products():
    g = gen(2)
    p = torch.randn(2, 7, 3, generator=g, dtype=F64)
    t = torch.randn(2, 3, generator=g, dtype=F64)
    s = torch.rand(2, 3, generator=g, dtype=F64) + 0.5
    R = random_rotations(2, dtype=F64, generator=g)
    composed = Transform3d(dtype=F64).translate(t).scale(s).rotate(R)
    assert len(composed) == 2
    explicit = torch.stack(
        [
            affine(torch.eye(3, dtype=F64), t[i])
            @ affine(torch.diag(s[i]), torch.zeros(3, dtype=F64))
            @ affine(R[i], torch.zeros(3, dtype=F64))
            for i in range(2)
        ]
    )
    torch.testing.assert_close(composed.get_matrix(), explicit)
    expected_points = ((p + t[:, None]) * s[:, None]) @ R
    torch.testing.assert_close(composed.transform_points(p), expected_points)
    # compose() with several others is the same as chaining
    again = Translate(t).compose(Scale(s), Rotate(R))
    torch.testing.assert_close(again.get_matrix(), explicit)


def test_batch_broadcasting():
    g = gen(3)
    one = Translate(torch.randn(1, 3, generator=g, dtype=F64))
    many = Rotate(random_rotations(4, dtype=F64, generator=g))
    composed = one.compose(many, Scale(2.0, dtype=F64))
    assert len(composed) == 4
    M = composed.get_matrix()
    assert M.shape == (4, 4, 4)
    S = torch.diag(torch.tensor([2.0, 2.0, 2.0, 1.0], dtype=F64))
    torch.testing.assert_close(M, one.get_matrix() @ many.get_matrix() @ S)
    points = torch.randn(5, 3, generator=g, dtype=F64)
    assert one.transform_points(points).shape == (5, 3)
    assert composed.transform_points(points).shape == (4, 5, 3)
    assert composed.transform_points(points[None]).shape == (4, 5, 3)
    assert one.transform_points(points.expand(4, 5, 3)).shape == (4, 5, 3)
    torch.testing.assert_close(
        composed.transform_points(points)[2], composed[2].transform_points(points)
    )
    with pytest.raises(
        InputError, match=r"batch sizes of composed transforms must be equal or 1, got \[4, 3\]"
    ):
        many.compose(Translate(torch.zeros(3, 3, dtype=F64)))
    with pytest.raises(InputError, match="batch sizes of points and the transform"):
        many.transform_points(points.expand(3, 5, 3))


def test_inverse_of_composed_transforms():
    g = gen(4)
    p = torch.randn(3, 6, 3, generator=g, dtype=F64)
    t = (
        Translate(torch.randn(3, 3, generator=g, dtype=F64))
        .scale(torch.rand(3, 3, generator=g, dtype=F64) + 0.5)
        .rotate(random_rotations(3, dtype=F64, generator=g))
        .rotate_axis_angle(40.0, axis="Y")
        .translate(1.0, 2.0, 3.0)
    )
    expected = torch.linalg.inv(t.get_matrix())
    for inv in (t.inverse(), t.inverse(invert_composed=True)):
        torch.testing.assert_close(inv.get_matrix(), expected)
        torch.testing.assert_close(inv.transform_points(t.transform_points(p)), p)
    # leaves invert in closed form and keep their class
    tr = Translate(torch.tensor([[1.0, 2.0, 3.0]]))
    assert isinstance(tr.inverse(), Translate)
    torch.testing.assert_close(
        tr.inverse().get_matrix()[0, 3, :3], torch.tensor([-1.0, -2.0, -3.0])
    )
    sc = Scale(torch.tensor([[2.0, 4.0, 0.5]]))
    torch.testing.assert_close(
        sc.inverse().get_matrix()[0].diagonal(), torch.tensor([0.5, 0.25, 2.0, 1.0])
    )
    R = random_rotations(2, generator=g)
    torch.testing.assert_close(Rotate(R).inverse().get_matrix()[:, :3, :3], R.transpose(1, 2))


def test_transform_normals_under_non_uniform_scale():
    g = gen(5)
    normals = torch.randn(50, 3, generator=g, dtype=F64)
    tangents = torch.linalg.cross(normals, torch.randn(50, 3, generator=g, dtype=F64))
    t = Scale(1.0, 5.0, 0.2, dtype=F64).rotate(random_rotations(1, dtype=F64, generator=g))
    t = t.translate(3.0, 0.0, -1.0)
    assert (normals * tangents).sum(-1).abs().max() < 1e-12
    # tangents are differences of points, so they transform like points minus the translation
    origin = t.transform_points(torch.zeros(1, 3, dtype=F64))
    new_tangents = t.transform_points(tangents) - origin
    new_normals = t.transform_normals(normals)
    torch.testing.assert_close(
        (new_normals * new_tangents).sum(-1), torch.zeros(50, dtype=F64), atol=1e-10, rtol=0
    )
    # transforming the normals like points would not keep them perpendicular
    naive = t.transform_points(normals) - origin
    assert (naive * new_tangents).sum(-1).abs().max() > 0.1


def test_transform_points_homogeneous_divide_and_eps():
    # a projective matrix whose w is the input z
    M = torch.zeros(4, 4, dtype=F64)
    M[0, 0] = M[1, 1] = M[2, 3] = 1.0
    M[2, 2] = 1.0
    t = Transform3d(matrix=M)
    p = torch.tensor(
        [[2.0, 4.0, 2.0], [1.0, 1.0, -0.5], [1.0, 1.0, 0.0], [3.0, 3.0, -1e-9]], dtype=F64
    )
    out = t.transform_points(p[:2])
    torch.testing.assert_close(out, torch.tensor([[1.0, 2.0, 1.0], [-2.0, -2.0, 1.0]], dtype=F64))
    clamped = t.transform_points(p, eps=0.1)
    assert torch.isfinite(clamped).all()
    torch.testing.assert_close(clamped[2], torch.tensor([10.0, 10.0, 0.0], dtype=F64))
    torch.testing.assert_close(clamped[3], torch.tensor([-30.0, -30.0, 1e-8], dtype=F64))


def test_stack_getitem_len():
    g = gen(6)
    a = Translate(torch.randn(2, 3, generator=g))
    b = Rotate(random_rotations(3, generator=g)).translate(1.0, 1.0, 1.0)
    c = Scale(3.0)
    stacked = a.stack(b, c)
    assert len(stacked) == 6
    M = stacked.get_matrix()
    torch.testing.assert_close(M[:2], a.get_matrix())
    torch.testing.assert_close(M[2:5], b.get_matrix())
    torch.testing.assert_close(M[5:], c.get_matrix())
    torch.testing.assert_close(stacked[3].get_matrix(), M[3:4])
    assert len(stacked[3]) == 1 and len(stacked[-1]) == 1
    torch.testing.assert_close(stacked[1:4].get_matrix(), M[1:4])
    torch.testing.assert_close(stacked[[0, 5]].get_matrix(), M[[0, 5]])
    mask = torch.tensor([True, False, False, True, True, False])
    torch.testing.assert_close(stacked[mask].get_matrix(), M[mask])
    torch.testing.assert_close(stacked[torch.tensor([4, 1])].get_matrix(), M[[4, 1]])
    # a batch-1 composition indexes like a batch of 1
    assert len(c.translate(1.0, 2.0, 3.0)[0]) == 1


def test_lazy_composition_cache_and_gradients():
    base = torch.eye(4).repeat(2, 1, 1)
    t = Transform3d(matrix=base).translate(1.0, 2.0, 3.0)
    first = t.get_matrix()
    first.zero_()  # get_matrix returns a new tensor: the transform is unchanged
    torch.testing.assert_close(t.get_matrix()[:, 3, :3], torch.tensor([[1.0, 2.0, 3.0]] * 2))
    base[:, 3, 0] = 10.0  # the matrix is used without a copy: in-place updates reach it
    torch.testing.assert_close(t.get_matrix()[:, 3, :3], torch.tensor([[11.0, 2.0, 3.0]] * 2))
    # gradients reach the parameters, and a transform can be used for several backward passes
    offset = torch.zeros(1, 3, requires_grad=True)
    weights = torch.zeros(4, 4, requires_grad=True)
    moved = Translate(offset).compose(Transform3d(matrix=torch.eye(4) + weights))
    points = torch.randn(5, 3, generator=gen(7))
    for _ in range(2):
        moved.transform_points(points).sum().backward()
    torch.testing.assert_close(offset.grad, torch.full((1, 3), 10.0))
    assert weights.grad.abs().sum() > 0


def test_copies_dtype_device_detach():
    p = torch.zeros(1, 3, requires_grad=True)
    t = Translate(p).scale(2.0)
    assert t.to("cpu") is t
    c = t.clone()
    assert c is not t
    torch.testing.assert_close(c.get_matrix(), t.get_matrix())
    d = t.detach()
    assert t.get_matrix().requires_grad and not d.get_matrix().requires_grad
    t64 = t.to(dtype=F64)
    assert t64.dtype == F64 and t.dtype == torch.float32
    torch.testing.assert_close(t64.get_matrix(), t.get_matrix().double())
    assert t.cpu().device == torch.device("cpu")
    assert isinstance(Translate(torch.zeros(1, 3)).clone(), Translate)
    assert "N=1" in repr(t)


def test_se3_log_of_transform():
    log_transform = torch.tensor([[0.1, -0.2, 0.3, 0.4, 0.5, -0.6]], dtype=F64)
    t = Transform3d(matrix=se3_exp_map(log_transform))
    torch.testing.assert_close(t.get_se3_log(), log_transform)
    torch.testing.assert_close(se3_log_map(t.get_matrix()), log_transform)


def test_bad_inputs():
    with pytest.raises(
        InputError, match=r"Rotate: R must be .*\(3, 3\) or \(N, 3, 3\), got .*\(3,\)"
    ):
        Rotate(torch.zeros(3))
    with pytest.raises(InputError, match=r"R must be .*\(3, 3\) or \(N, 3, 3\), got .*\(2, 3, 4\)"):
        Rotate(torch.zeros(2, 3, 4))
    with pytest.warns(UserWarning, match="not a rotation matrix"):
        Rotate(2 * torch.eye(3))
    with pytest.raises(InputError, match=r"matrix must be .*\(4, 4\) or \(N, 4, 4\)"):
        Transform3d(matrix=torch.eye(3))
    with pytest.raises(InputError, match="y and z are required"):
        Translate(1.0)
    with pytest.raises(InputError, match=r"\(N, 3\) tensor given without y and z"):
        Translate(torch.zeros(2, 3), 1.0, 2.0)
    with pytest.raises(
        InputError, match=r"lengths of x, y and z must be equal or 1, got \[2, 3, 1\]"
    ):
        Translate(torch.zeros(2), torch.zeros(3), 0.0)
    with pytest.raises(InputError, match="x must be a number or a 0-d or"):
        Scale("big")
    with pytest.raises(InputError, match="axis must be 'X', 'Y' or 'Z', got 'W'"):
        RotateAxisAngle(10.0, axis="W")
    with pytest.raises(InputError, match="others must be Transform3d"):
        Transform3d().compose(torch.eye(4))
    with pytest.raises(InputError, match="others must have dtype"):
        Transform3d().compose(Transform3d(dtype=F64))
    with pytest.raises(
        InputError, match=r"points must be a tensor of shape \(P, 3\) or \(N, P, 3\)"
    ):
        Transform3d().transform_points(torch.zeros(4))
    with pytest.raises(InputError, match="points must be a floating-point tensor"):
        Transform3d().transform_points(torch.zeros(4, 2))
    with pytest.raises(InputError, match="normals must have the transform's dtype"):
        Transform3d().transform_normals(torch.zeros(4, 3, dtype=F64))


def test_cross_is_the_cross_product_and_a_cross_a_is_zero():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200, 3, generator=g, dtype=torch.float64)
    b = torch.randn(1, 3, generator=g, dtype=torch.float64)  # broadcast
    torch.testing.assert_close(cross(a, b), torch.linalg.cross(a, b.expand_as(a)))
    x = torch.randn(1000, 3, generator=g) * 1e3
    assert torch.equal(cross(x, x), torch.zeros_like(x))  # each product rounded alike
