"""Conversions between rotation representations.

Conventions (those of PyTorch3D): rotation matrices act on column vectors (``R @ v``);
quaternions are (w, x, y, z) with the real part first; an axis-angle vector is the unit axis
times the angle in radians (right-hand rule). Every function accepts any number of leading batch
dimensions, written ``...``. Every function is scriptable with ``torch.jit.script``, as
PyTorch3D's are.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d.errors import InputError
from r3d.transforms._common import check_shape, safe_norm, sinc

# ---- quaternions ---------------------------------------------------------------------------


def quaternion_to_matrix(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotation matrices of quaternions (which need not be normalized).

    Args:
        quaternions: (..., 4) real part first.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    check_shape("quaternion_to_matrix", "quaternions", quaternions, [4])
    w, x, y, z = quaternions.unbind(-1)
    s = 2.0 / (quaternions * quaternions).sum(-1)
    entries = (
        1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w),
        s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w),
        s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(entries, -1).reshape(list(quaternions.shape[:-1]) + [3, 3])


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Unit quaternions of rotation matrices, with a non-negative real part.

    Stable for every rotation, 180 degrees included: of the four ways to read the quaternion
    off the matrix it uses the one dividing by the largest component.

    Args:
        matrix: (..., 3, 3) rotation matrices.
    Returns:
        (..., 4) quaternions, real part first and >= 0.
    """
    check_shape("matrix_to_quaternion", "matrix", matrix, [3, 3])
    m00, m01, m02 = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    m10, m11, m12 = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    m20, m21, m22 = matrix[..., 2, 0], matrix[..., 2, 1], matrix[..., 2, 2]
    # 4 w^2, 4 x^2, 4 y^2, 4 z^2 for a rotation; they add up to 4 for any matrix
    squares = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), -1
    )
    # row c is 4 q_c q, for c = w, x, y, z
    candidates = torch.stack(
        (
            torch.stack((squares[..., 0], m21 - m12, m02 - m20, m10 - m01), -1),
            torch.stack((m21 - m12, squares[..., 1], m10 + m01, m02 + m20), -1),
            torch.stack((m02 - m20, m10 + m01, squares[..., 2], m12 + m21), -1),
            torch.stack((m10 - m01, m02 + m20, m12 + m21, squares[..., 3]), -1),
        ),
        -2,
    )
    best = squares.argmax(-1, keepdim=True)
    chosen = torch.gather(candidates, -2, best[..., None].expand(list(best.shape) + [4]))[..., 0, :]
    # the largest of four numbers adding up to 4 is at least 1: a well-conditioned division
    q = chosen / (2 * torch.sqrt(torch.gather(squares, -1, best)))
    return standardize_quaternion(q)


def standardize_quaternion(quaternions: torch.Tensor) -> torch.Tensor:
    """The quaternion of each +-q pair with a non-negative real part (same rotation).

    Args:
        quaternions: (..., 4) real part first.
    Returns:
        (..., 4).
    """
    check_shape("standardize_quaternion", "quaternions", quaternions, [4])
    return torch.where(quaternions[..., :1] < 0, -quaternions, quaternions)


def quaternion_raw_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a * b (the rotation b followed by a), without standardizing.

    Args:
        a, b: (..., 4) quaternions, real part first; leading dimensions broadcast.
    Returns:
        (..., 4).
    """
    check_shape("quaternion_raw_multiply", "a", a, [4])
    check_shape("quaternion_raw_multiply", "b", b, [4])
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        -1,
    )


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a * b, standardized to a non-negative real part.

    Args:
        a, b: (..., 4) quaternions, real part first; leading dimensions broadcast.
    Returns:
        (..., 4).
    """
    return standardize_quaternion(quaternion_raw_multiply(a, b))


def quaternion_invert(quaternion: torch.Tensor) -> torch.Tensor:
    """Conjugate quaternions: the inverse rotation for unit quaternions.

    Args:
        quaternion: (..., 4) real part first.
    Returns:
        (..., 4).
    """
    check_shape("quaternion_invert", "quaternion", quaternion, [4])
    return quaternion * torch.tensor(
        [1.0, -1.0, -1.0, -1.0], dtype=quaternion.dtype, device=quaternion.device
    )


def quaternion_apply(quaternion: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Rotates points by unit quaternions: q * (0, p) * q^-1.

    Args:
        quaternion: (..., 4) real part first.
        point: (..., 3); leading dimensions broadcast with those of ``quaternion``.
    Returns:
        (..., 3) rotated points.
    """
    check_shape("quaternion_apply", "quaternion", quaternion, [4])
    check_shape("quaternion_apply", "point", point, [3])
    pure = torch.cat([torch.zeros_like(point[..., :1]), point], -1)
    rotated = quaternion_raw_multiply(
        quaternion_raw_multiply(quaternion, pure), quaternion_invert(quaternion)
    )
    return rotated[..., 1:]


# ---- axis-angle ----------------------------------------------------------------------------


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """Unit quaternions of axis-angle rotations.

    Args:
        axis_angle: (..., 3) axis times angle in radians.
    Returns:
        (..., 4) quaternions, real part first (negative for angles above pi).
    """
    check_shape("axis_angle_to_quaternion", "axis_angle", axis_angle, [3])
    half = safe_norm(axis_angle, keepdim=True) / 2
    # sin(angle / 2) / angle = sinc(angle / 2) / 2, with finite gradients at angle 0
    return torch.cat([torch.cos(half), axis_angle * (sinc(half) / 2)], -1)


def quaternion_to_axis_angle(quaternions: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors of unit quaternions.

    Args:
        quaternions: (..., 4) real part first.
    Returns:
        (..., 3) axis times angle; the angle is in [0, pi] for quaternions with a non-negative
        real part and in (pi, 2 pi) otherwise.
    """
    check_shape("quaternion_to_axis_angle", "quaternions", quaternions, [4])
    vector = quaternions[..., 1:]
    half = torch.atan2(safe_norm(vector, keepdim=True), quaternions[..., :1])
    # angle * axis = 2 half * vector / sin(half)
    return 2 * vector / sinc(half)


def axis_angle_to_matrix(axis_angle: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Rotation matrices of axis-angle vectors (the exponential map of SO(3)).

    Args:
        axis_angle: (..., 3) axis times angle in radians.
        fast: accepted for PyTorch3D compatibility and ignored. PyTorch3D's fast path applies
            Rodrigues' formula directly; r3d's one path is exact to rounding at every angle,
            with finite gradients at 0, and gives the same matrices.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    check_shape("axis_angle_to_matrix", "axis_angle", axis_angle, [3])
    return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))


def matrix_to_axis_angle(matrix: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Axis-angle vectors of rotation matrices (the logarithm map of SO(3)).

    Stable near 0 and near pi, where it goes through :func:`matrix_to_quaternion`.

    Args:
        matrix: (..., 3, 3) rotation matrices.
        fast: accepted for PyTorch3D compatibility and ignored: PyTorch3D's fast path (an
            arccos of the trace) loses accuracy near 0 and pi, r3d's one path does not.
    Returns:
        (..., 3) axis times angle, the angle in [0, pi].
    """
    check_shape("matrix_to_axis_angle", "matrix", matrix, [3, 3])
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


# ---- Euler angles --------------------------------------------------------------------------


def _check_convention(op: str, convention: str) -> str:
    if not torch.jit.is_scripting() and not isinstance(convention, str):
        convention = repr(convention)  # a str, so that the message below names it
    ok = len(convention) == 3 and convention[0] != convention[1] != convention[2]
    for c in convention:
        ok = ok and _axis_index(c) >= 0
    if not ok:
        raise InputError(
            f"{op}: convention must be 3 letters from 'X', 'Y', 'Z' with no letter equal to the "
            f"next (e.g. 'XYZ', 'ZYX', 'XYX'), got '{convention}'"
        )
    return convention


def _axis_index(axis: str) -> int:
    """0, 1 or 2 for "X", "Y" or "Z"; -1 for anything else."""
    return "XYZ".find(axis) if len(axis) == 1 else -1


def _axis_angle_rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """Rotations by ``angle`` (...,) radians about the coordinate axis "X", "Y" or "Z":
    (..., 3, 3)."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "X":
        entries = (one, zero, zero, zero, c, -s, zero, s, c)
    elif axis == "Y":
        entries = (c, zero, s, zero, one, zero, -s, zero, c)
    else:
        entries = (c, -s, zero, s, c, zero, zero, zero, one)
    return torch.stack(entries, -1).reshape(list(angle.shape) + [3, 3])


def euler_angles_to_matrix(euler_angles: torch.Tensor, convention: str) -> torch.Tensor:
    """Rotation matrices from Euler angles.

    The matrix for convention "ABC" and angles (a, b, c) is R_A(a) @ R_B(b) @ R_C(c), with
    R_X, R_Y, R_Z the rotations about the coordinate axes.

    Args:
        euler_angles: (..., 3) angles in radians.
        convention: 3 letters from "X", "Y", "Z", no letter equal to the next: one of the 6
            Tait-Bryan ("XYZ", ...) or 6 proper Euler ("XYX", ...) conventions.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    check_shape("euler_angles_to_matrix", "euler_angles", euler_angles, [3])
    _check_convention("euler_angles_to_matrix", convention)
    return (
        _axis_angle_rotation(convention[0], euler_angles[..., 0])
        @ _axis_angle_rotation(convention[1], euler_angles[..., 1])
        @ _axis_angle_rotation(convention[2], euler_angles[..., 2])
    )


def matrix_to_euler_angles(matrix: torch.Tensor, convention: str) -> torch.Tensor:
    """Euler angles of rotation matrices, the inverse of :func:`euler_angles_to_matrix`.

    Args:
        matrix: (..., 3, 3) rotation matrices.
        convention: as in :func:`euler_angles_to_matrix`.
    Returns:
        (..., 3) angles in radians: the first and last in [-pi, pi], the middle one in
        [-pi/2, pi/2] for Tait-Bryan conventions and in [0, pi] for proper Euler ones.
    """
    check_shape("matrix_to_euler_angles", "matrix", matrix, [3, 3])
    _check_convention("matrix_to_euler_angles", convention)
    i, j, k = (_axis_index(convention[0]), _axis_index(convention[1]),
               _axis_index(convention[2]))
    # +1 when the first two axes are in cyclic order (X then Y, Y then Z, Z then X)
    s = 1.0 if (j - i) % 3 == 1 else -1.0
    m = matrix
    if i != k:  # Tait-Bryan: i, j, k are the three axes
        first = torch.atan2(-s * m[..., j, k], m[..., k, k])
        middle = torch.atan2(s * m[..., i, k], torch.hypot(m[..., i, i], m[..., i, j]))
        last = torch.atan2(-s * m[..., i, j], m[..., i, i])
    else:  # proper Euler: l is the axis not named
        l = 3 - i - j
        first = torch.atan2(m[..., j, i], -s * m[..., l, i])
        middle = torch.atan2(torch.hypot(m[..., i, j], m[..., i, l]), m[..., i, i])
        last = torch.atan2(m[..., i, j], s * m[..., i, l])
    return torch.stack((first, middle, last), -1)


# ---- 6D representation ---------------------------------------------------------------------


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from the 6D representation of Zhou et al. (CVPR 2019).

    The two 3-vectors are made orthonormal by Gram-Schmidt; they and their cross product are
    the rows of the matrix.

    Args:
        d6: (..., 6) two 3-vectors, not necessarily orthonormal.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    check_shape("rotation_6d_to_matrix", "d6", d6, [6])
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    return torch.stack((b1, b2, torch.linalg.cross(b1, b2)), -2)


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """6D representation of rotation matrices: their first two rows.

    Args:
        matrix: (..., 3, 3).
    Returns:
        (..., 6), a new tensor.
    """
    check_shape("matrix_to_rotation_6d", "matrix", matrix, [3, 3])
    return torch.cat((matrix[..., 0, :], matrix[..., 1, :]), -1)


# ---- random rotations ----------------------------------------------------------------------


def random_quaternions(
    n: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Unit quaternions uniformly distributed over the rotations.

    Args:
        n: how many.
        dtype, device: of the result (torch's defaults when None).
        generator: random generator to draw from (on ``device``).
    Returns:
        (n, 4) quaternions, real part first and >= 0.
    """
    if not torch.jit.is_scripting():
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise InputError(
                f"random_quaternions: n must be a non-negative int, got {describe(n)}")
    if n < 0:
        raise InputError(f"random_quaternions: n must be a non-negative int, got {n}")
    if isinstance(device, str):
        device = torch.device(device)
    q = torch.randn([int(n), 4], dtype=dtype, device=device, generator=generator)
    return standardize_quaternion(q / torch.linalg.vector_norm(q, dim=-1, keepdim=True))


def random_rotations(
    n: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Rotation matrices uniformly distributed over SO(3).

    Args:
        n, dtype, device, generator: as in :func:`random_quaternions`.
    Returns:
        (n, 3, 3).
    """
    return quaternion_to_matrix(random_quaternions(n, dtype, device, generator))


def random_rotation(
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One rotation matrix drawn uniformly from SO(3).

    Args:
        dtype, device, generator: as in :func:`random_quaternions`.
    Returns:
        (3, 3).
    """
    return random_rotations(1, dtype, device, generator)[0]
