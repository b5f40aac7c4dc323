"""Rotation conversions, SO(3) and SE(3) maps: round trips, independent oracles, edge angles,
gradients and input errors."""

import itertools
import math

import pytest
import torch

from r3d.errors import InputError
from r3d.transforms import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_angles_to_matrix,
    hat,
    hat_inv,
    matrix_to_axis_angle,
    matrix_to_euler_angles,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_apply,
    quaternion_invert,
    quaternion_multiply,
    quaternion_raw_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    random_quaternions,
    random_rotation,
    random_rotations,
    rotation_6d_to_matrix,
    se3_exp_map,
    se3_log_map,
    so3_exp_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
    standardize_quaternion,
)

spatial = pytest.importorskip("scipy.spatial.transform")

F64 = torch.float64
TOL = {torch.float32: 2e-5, torch.float64: 1e-12}
CONVENTIONS = [
    "".join(c) for c in itertools.product("XYZ", repeat=3) if c[0] != c[1] and c[1] != c[2]
]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def unit(v):
    return v / v.norm(dim=-1, keepdim=True)


def random_axis_angles(n, lo, hi, dtype=F64, seed=0):
    """(n, 3) axis-angle vectors with random axes and angles uniform in [lo, hi]."""
    g = gen(seed)
    axes = unit(torch.randn(n, 3, generator=g, dtype=F64))
    angles = lo + (hi - lo) * torch.rand(n, 1, generator=g, dtype=F64)
    return (axes * angles).to(dtype)


def assert_rotations(R, tol):
    eye = torch.eye(3, dtype=R.dtype).expand_as(R)
    torch.testing.assert_close(R @ R.transpose(-1, -2), eye, atol=tol, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(R.shape[:-2], dtype=R.dtype))


# ---- quaternions -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_quaternion_matrix_round_trip(dtype):
    q = random_quaternions(200, dtype=dtype, generator=gen())
    assert q.dtype == dtype and q.shape == (200, 4)
    assert (q[:, 0] >= 0).all()
    torch.testing.assert_close(q.norm(dim=-1), torch.ones(200, dtype=dtype))
    R = quaternion_to_matrix(q)
    assert_rotations(R, 10 * TOL[dtype])
    torch.testing.assert_close(matrix_to_quaternion(R), q, atol=10 * TOL[dtype], rtol=0)


def test_quaternion_to_matrix_matches_scipy_and_known_values():
    q = random_quaternions(50, dtype=F64, generator=gen(1))
    expected = spatial.Rotation.from_quat(q[:, [1, 2, 3, 0]].numpy()).as_matrix()
    torch.testing.assert_close(quaternion_to_matrix(q), torch.from_numpy(expected))
    # 90 degrees about z maps x to y; unnormalized quaternions give the same rotation
    qz = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=F64) * 3.0
    Rz = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    torch.testing.assert_close(quaternion_to_matrix(qz), Rz)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("delta", [0.0, 1e-7, 1e-4, 1e-2])
def test_matrix_to_quaternion_near_180_degrees(dtype, delta):
    g = gen(2)
    axes = torch.cat([torch.eye(3, dtype=F64), unit(torch.randn(20, 3, generator=g, dtype=F64))])
    half = (math.pi - delta) / 2
    expected = torch.cat([torch.full((23, 1), math.cos(half), dtype=F64), axes * math.sin(half)], 1)
    R = quaternion_to_matrix(expected).to(dtype)
    q = matrix_to_quaternion(R)
    assert torch.isfinite(q).all()
    # at exactly 180 degrees q and -q both have real part 0: compare up to sign
    sign = torch.where((q.double() * expected).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    torch.testing.assert_close(q.double() * sign, expected, atol=10 * TOL[dtype], rtol=0)
    torch.testing.assert_close(quaternion_to_matrix(q), R, atol=10 * TOL[dtype], rtol=0)


def test_matrix_to_quaternion_identity_and_standardized():
    q = matrix_to_quaternion(torch.eye(3, dtype=F64).expand(2, 3, 3))
    torch.testing.assert_close(q, torch.tensor([[1.0, 0, 0, 0]] * 2, dtype=F64))
    R = random_rotations(100, dtype=F64, generator=gen(3))
    assert (matrix_to_quaternion(R)[:, 0] >= 0).all()


def test_quaternion_algebra():
    a = random_quaternions(30, dtype=F64, generator=gen(4))
    b = random_quaternions(30, dtype=F64, generator=gen(5))
    Ra, Rb = quaternion_to_matrix(a), quaternion_to_matrix(b)
    ab = quaternion_multiply(a, b)
    assert (ab[:, 0] >= 0).all()
    torch.testing.assert_close(quaternion_to_matrix(ab), Ra @ Rb)
    raw = quaternion_raw_multiply(a, b)
    torch.testing.assert_close(standardize_quaternion(raw), ab)
    # raw product of i and j is k, and broadcasting over leading dimensions
    i = torch.tensor([0.0, 1, 0, 0], dtype=F64)
    j = torch.tensor([0.0, 0, 1, 0], dtype=F64)
    torch.testing.assert_close(
        quaternion_raw_multiply(i, j), torch.tensor([0.0, 0, 0, 1], dtype=F64)
    )
    assert quaternion_raw_multiply(a[:, None], b[None, :5]).shape == (30, 5, 4)
    identity = quaternion_raw_multiply(a, quaternion_invert(a))
    torch.testing.assert_close(identity, torch.tensor([[1.0, 0, 0, 0]] * 30, dtype=F64))
    p = torch.randn(30, 3, generator=gen(6), dtype=F64)
    torch.testing.assert_close(quaternion_apply(a, p), (Ra @ p[:, :, None])[:, :, 0])
    neg = standardize_quaternion(-a)
    torch.testing.assert_close(neg, a)


# ---- axis-angle ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_axis_angle_round_trips(dtype):
    aa = random_axis_angles(200, 0.0, math.pi - 1e-3, dtype=dtype)
    R = axis_angle_to_matrix(aa)
    assert_rotations(R, 10 * TOL[dtype])
    torch.testing.assert_close(matrix_to_axis_angle(R), aa, atol=100 * TOL[dtype], rtol=0)
    q = axis_angle_to_quaternion(aa)
    torch.testing.assert_close(quaternion_to_matrix(q), R, atol=10 * TOL[dtype], rtol=0)
    torch.testing.assert_close(quaternion_to_axis_angle(q), aa, atol=100 * TOL[dtype], rtol=0)


def test_axis_angle_matches_scipy():
    aa = random_axis_angles(50, 0.0, 2.0 * math.pi, seed=7)
    expected = spatial.Rotation.from_rotvec(aa.numpy()).as_matrix()
    torch.testing.assert_close(axis_angle_to_matrix(aa), torch.from_numpy(expected))
    q = axis_angle_to_quaternion(aa)
    expected_q = spatial.Rotation.from_rotvec(aa.numpy()).as_quat()[:, [3, 0, 1, 2]]
    sign = torch.where(q[:, :1] * torch.from_numpy(expected_q[:, :1]) < 0, -1.0, 1.0)
    torch.testing.assert_close(q * sign, torch.from_numpy(expected_q))


# ---- Euler angles ----------------------------------------------------------------------------


def canonical_euler(n, convention, seed):
    """Random angles in the ranges matrix_to_euler_angles returns, away from gimbal lock."""
    g = gen(seed)
    outer = (2 * torch.rand(n, 2, generator=g, dtype=F64) - 1) * (math.pi - 0.01)
    if convention[0] == convention[2]:
        middle = 0.01 + torch.rand(n, generator=g, dtype=F64) * (math.pi - 0.02)
    else:
        middle = (2 * torch.rand(n, generator=g, dtype=F64) - 1) * (math.pi / 2 - 0.01)
    return torch.stack([outer[:, 0], middle, outer[:, 1]], -1)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_euler_round_trips(convention, dtype):
    angles = canonical_euler(100, convention, seed=len(convention) + ord(convention[1]))
    angles = angles.to(dtype)
    R = euler_angles_to_matrix(angles, convention)
    assert_rotations(R, 10 * TOL[dtype])
    torch.testing.assert_close(
        matrix_to_euler_angles(R, convention), angles, atol=300 * TOL[dtype], rtol=0
    )
    rotations = random_rotations(100, dtype=dtype, generator=gen(8))
    back = euler_angles_to_matrix(matrix_to_euler_angles(rotations, convention), convention)
    torch.testing.assert_close(back, rotations, atol=300 * TOL[dtype], rtol=0)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_euler_matches_scipy_intrinsic(convention):
    angles = canonical_euler(20, convention, seed=9)
    expected = spatial.Rotation.from_euler(convention, angles.numpy()).as_matrix()
    torch.testing.assert_close(
        euler_angles_to_matrix(angles, convention), torch.from_numpy(expected)
    )


def test_euler_single_axis():
    R = euler_angles_to_matrix(torch.tensor([math.pi / 2, 0.0, 0.0], dtype=F64), "XYZ")
    expected = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=F64)
    torch.testing.assert_close(R, expected)


# ---- 6D --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rotation_6d(dtype):
    R = random_rotations(100, dtype=dtype, generator=gen(10))
    d6 = matrix_to_rotation_6d(R)
    assert d6.shape == (100, 6)
    torch.testing.assert_close(d6[:, :3], R[:, 0])
    torch.testing.assert_close(rotation_6d_to_matrix(d6), R, atol=10 * TOL[dtype], rtol=0)
    raw = torch.randn(100, 6, generator=gen(11), dtype=dtype)
    M = rotation_6d_to_matrix(raw)
    assert_rotations(M, 10 * TOL[dtype])
    torch.testing.assert_close(M[:, 0], unit(raw[:, :3]))
    # the second row lies in the plane of the two input vectors
    normal = torch.linalg.cross(raw[:, :3], raw[:, 3:])
    torch.testing.assert_close(
        (M[:, 1] * normal).sum(-1), torch.zeros(100, dtype=dtype), atol=1e-4, rtol=0
    )
    assert matrix_to_rotation_6d(R[0]).data_ptr() != R.data_ptr()


def test_random_rotations():
    R = random_rotations(50, dtype=F64, generator=gen(12))
    assert_rotations(R, 1e-12)
    torch.testing.assert_close(R, random_rotations(50, dtype=F64, generator=gen(12)))
    assert not torch.allclose(R, random_rotations(50, dtype=F64, generator=gen(13)))
    one = random_rotation(dtype=torch.float32)
    assert one.shape == (3, 3) and one.dtype == torch.float32
    assert random_quaternions(0).shape == (0, 4)
    # uniform over SO(3): the mean of the matrices tends to 0
    assert random_rotations(4000, dtype=F64, generator=gen(14)).mean(0).abs().max() < 0.05


# ---- SO(3) -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_so3_exp_log_round_trip(dtype):
    log_rot = random_axis_angles(200, 0.0, math.pi - 1e-3, dtype=dtype, seed=15)
    R = so3_exp_map(log_rot)
    torch.testing.assert_close(
        R, torch.linalg.matrix_exp(hat(log_rot)), atol=10 * TOL[dtype], rtol=0
    )
    torch.testing.assert_close(so3_log_map(R), log_rot, atol=100 * TOL[dtype], rtol=0)


@pytest.mark.parametrize("angle", [0.0, 1e-12, 1e-8, 1e-4, 0.04, 0.06, math.pi - 1e-6, math.pi])
def test_so3_exp_log_edge_angles(angle):
    axes = torch.cat(
        [torch.eye(3, dtype=F64), unit(torch.randn(5, 3, generator=gen(16), dtype=F64))]
    )
    log_rot = axes * angle
    R = so3_exp_map(log_rot)
    torch.testing.assert_close(R, torch.linalg.matrix_exp(hat(log_rot)), atol=1e-14, rtol=0)
    log = so3_log_map(R)
    assert torch.isfinite(log).all()
    if angle < math.pi:
        # relative accuracy even for tiny angles
        torch.testing.assert_close(log, log_rot, atol=1e-9 * max(angle, 1e-300), rtol=1e-9)
    else:  # at pi the axis sign is arbitrary
        torch.testing.assert_close(log.norm(dim=1), torch.full((8,), math.pi, dtype=F64))
        torch.testing.assert_close(so3_exp_map(log), R, atol=1e-14, rtol=0)
    torch.testing.assert_close(
        so3_rotation_angle(R), torch.full((8,), angle, dtype=F64), atol=1e-9 * angle + 1e-15, rtol=0
    )


def test_so3_exp_map_tiny_angle_matches_series():
    v = torch.tensor([[1e-8, -2e-8, 3e-8]], dtype=F64)
    K = hat(v)
    expected = torch.eye(3, dtype=F64) + K + K @ K / 2  # next term is ~1e-24
    R = so3_exp_map(v)
    off = ~torch.eye(3, dtype=torch.bool)
    torch.testing.assert_close(R[0][off], expected[0][off], rtol=1e-12, atol=0)
    torch.testing.assert_close(R, expected, atol=2e-16, rtol=0)


def test_so3_exp_map_gradient_at_zero():
    v = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    W = torch.randn(2, 3, 3, generator=gen(17), dtype=F64)
    (so3_exp_map(v) * W).sum().backward()
    # d/dv <W, I + hat(v)> = (W21 - W12, W02 - W20, W10 - W01)
    expected = torch.stack(
        [W[:, 2, 1] - W[:, 1, 2], W[:, 0, 2] - W[:, 2, 0], W[:, 1, 0] - W[:, 0, 1]], -1
    )
    torch.testing.assert_close(v.grad, expected)


@pytest.mark.parametrize("scale", [0.0, 1e-6, 1e-3, 1.0, 3.0])
def test_so3_exp_map_gradcheck(scale):
    v = random_axis_angles(3, scale, scale, seed=18).requires_grad_()
    assert torch.autograd.gradcheck(so3_exp_map, (v,))


@pytest.mark.parametrize("angle", [0.0, 1e-3, 0.5, 2.0, math.pi - 1e-3])
def test_so3_log_map_gradcheck(angle):
    R = so3_exp_map(random_axis_angles(3, angle, angle, seed=19)).requires_grad_()
    assert torch.autograd.gradcheck(so3_log_map, (R,))


@pytest.mark.parametrize("delta", [0.0, 1e-9, 1e-6])
def test_so3_log_map_finite_gradient_near_pi(delta):
    for dtype in (torch.float32, F64):
        log_rot = random_axis_angles(6, math.pi - delta, math.pi - delta, seed=20).to(dtype)
        R = so3_exp_map(log_rot).requires_grad_()
        log = so3_log_map(R)
        torch.testing.assert_close(log.norm(dim=1), log_rot.norm(dim=1), atol=1e-5, rtol=0)
        (log * torch.arange(18, dtype=dtype).view(6, 3)).sum().backward()
        assert torch.isfinite(R.grad).all()


@pytest.mark.parametrize("angle", [1e-9, 0.5, math.pi - 1e-6])
def test_so3_log_map_inverts_exp_map_to_first_order(angle):
    # along the manifold, log(exp(v)) = v for angles below pi: its Jacobian is the identity
    v = random_axis_angles(1, angle, angle, seed=29)[0]
    jac = torch.autograd.functional.jacobian(lambda x: so3_log_map(so3_exp_map(x[None]))[0], v)
    torch.testing.assert_close(jac, torch.eye(3, dtype=F64), atol=1e-6, rtol=0)


def test_so3_rotation_angle_and_relative_angle():
    R1 = random_rotations(10, dtype=F64, generator=gen(21))
    angles = torch.linspace(0.0, math.pi, 10, dtype=F64)
    axes = unit(torch.randn(10, 3, generator=gen(22), dtype=F64))
    R2 = so3_exp_map(axes * angles[:, None]) @ R1
    torch.testing.assert_close(so3_relative_angle(R2, R1), angles)
    torch.testing.assert_close(so3_relative_angle(R1, R2, cos_angle=True), torch.cos(angles))
    torch.testing.assert_close(
        so3_rotation_angle(R1 @ R1.transpose(1, 2)), torch.zeros(10, dtype=F64)
    )
    # finite gradients at identical rotations
    R = R1.clone().requires_grad_()
    so3_relative_angle(R, R1).sum().backward()
    assert torch.isfinite(R.grad).all()
    Rg = so3_exp_map(axes * 1.3).requires_grad_()
    assert torch.autograd.gradcheck(so3_rotation_angle, (Rg,))


def test_hat_and_hat_inv():
    v = torch.randn(5, 3, generator=gen(23), dtype=F64)
    u = torch.randn(5, 3, generator=gen(24), dtype=F64)
    H = hat(v)
    torch.testing.assert_close(H @ u[:, :, None], torch.linalg.cross(v, u)[:, :, None])
    torch.testing.assert_close(H.transpose(1, 2), -H)
    torch.testing.assert_close(hat_inv(H), v)
    with pytest.raises(InputError, match="skew-symmetric"):
        hat_inv(H + torch.eye(3, dtype=F64))


# ---- SE(3) -----------------------------------------------------------------------------------


def se3_reference(log_transform):
    """Row-vector SE(3) exp from the matrix exponential of the column-vector twist."""
    n = len(log_transform)
    twist = torch.zeros(n, 4, 4, dtype=log_transform.dtype)
    twist[:, :3, :3] = hat(log_transform[:, 3:])
    twist[:, :3, 3] = log_transform[:, :3]
    return torch.linalg.matrix_exp(twist).transpose(1, 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_se3_exp_log_round_trip(dtype):
    g = gen(25)
    rot = random_axis_angles(100, 0.0, math.pi - 1e-3, seed=26)
    rot[:10] *= 1e-9  # tiny rotations
    log_transform = torch.cat([torch.randn(100, 3, generator=g, dtype=F64) * 3, rot], 1)
    expected = se3_reference(log_transform)
    T = se3_exp_map(log_transform.to(dtype))
    torch.testing.assert_close(T, expected.to(dtype), atol=100 * TOL[dtype], rtol=0)
    torch.testing.assert_close(T[:, :3, 3], torch.zeros(100, 3, dtype=dtype))
    torch.testing.assert_close(T[:, :3, :3], so3_exp_map(rot.to(dtype)).transpose(1, 2))
    torch.testing.assert_close(
        se3_log_map(T), log_transform.to(dtype), atol=1000 * TOL[dtype], rtol=0
    )


def test_se3_pure_translation():
    log_transform = torch.tensor([[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]], dtype=F64)
    T = se3_exp_map(log_transform)
    torch.testing.assert_close(T[0, 3, :3], log_transform[0, :3])
    torch.testing.assert_close(T[0, :3, :3], torch.eye(3, dtype=F64))


@pytest.mark.parametrize("angle", [0.0, 1e-5, 1.0, 2.5])
def test_se3_gradcheck(angle):
    g = gen(27)
    log_transform = torch.cat(
        [torch.randn(3, 3, generator=g, dtype=F64), random_axis_angles(3, angle, angle, seed=28)],
        1,
    ).requires_grad_()
    assert torch.autograd.gradcheck(se3_exp_map, (log_transform,))
    # perturb only the first three columns of the row-vector transform
    T = se3_exp_map(log_transform.detach())
    top = T[:, :, :3].clone().requires_grad_()

    def log_of(top):
        return se3_log_map(torch.cat([top, T[:, :, 3:]], dim=2))

    assert torch.autograd.gradcheck(log_of, (top,))


# ---- input errors ----------------------------------------------------------------------------


def test_input_errors():
    with pytest.raises(InputError, match=r"quaternions must be .* \(\.\.\., 4\), got .*\(3, 3\)"):
        quaternion_to_matrix(torch.zeros(3, 3))
    with pytest.raises(InputError, match="matrix must be"):
        matrix_to_quaternion(torch.zeros(4, 4))
    with pytest.raises(InputError, match="floating-point"):
        axis_angle_to_matrix(torch.zeros(2, 3, dtype=torch.int64))
    for bad in ["XXY", "XYQ", "XY", "xyz", 3]:
        with pytest.raises(InputError, match="convention must be 3 letters"):
            euler_angles_to_matrix(torch.zeros(3), bad)
    with pytest.raises(InputError, match="convention"):
        matrix_to_euler_angles(torch.eye(3), "XYY")
    with pytest.raises(InputError, match=r"d6 must be .*\(\.\.\., 6\)"):
        rotation_6d_to_matrix(torch.zeros(2, 5))
    with pytest.raises(InputError, match="n must be a non-negative int"):
        random_quaternions(-1)
    with pytest.raises(InputError, match=r"log_rot must be .*\(N, 3\), got .*\(3,\)"):
        so3_exp_map(torch.zeros(3))
    with pytest.raises(InputError, match=r"R must be .*\(N, 3, 3\)"):
        so3_log_map(torch.eye(3))
    with pytest.raises(InputError, match="matrix 1 has trace 6"):
        so3_log_map(torch.stack([torch.eye(3), 2 * torch.eye(3)]))
    with pytest.raises(InputError, match="same shape"):
        so3_relative_angle(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(3, 3, 3))
    with pytest.raises(InputError, match=r"log_transform must be .*\(N, 6\)"):
        se3_exp_map(torch.zeros(2, 3))
    bad = torch.eye(4).expand(2, 4, 4).clone()
    bad[1, 0, 3] = 1.0
    with pytest.raises(InputError, match="last column"):
        se3_log_map(bad)
