"""Batches of 3D transforms as 4x4 matrices acting on row vectors, composed lazily.

The convention is PyTorch3D's: a point p = (x, y, z) is the row (x, y, z, 1) and maps to
(x, y, z, 1) @ M, divided by its fourth entry. An affine M holds its linear part in M[:3, :3]
and its translation in the last row M[3, :3]. ``a.compose(b)`` applies a, then b; its matrix is
M_a @ M_b.
"""

from __future__ import annotations

import copy
import functools
import numbers
import operator
from collections.abc import Callable

import torch

from r3d._checks import describe
from r3d.errors import InputError, warn
from r3d.transforms._common import broadcast_batch, check_shape, homogeneous
from r3d.transforms.rotation_conversions import _axis_angle_rotation
from r3d.transforms.se3 import se3_log_map
from r3d.value_checks import checks_now

__all__ = ["Rotate", "RotateAxisAngle", "Scale", "Transform3d", "Translate"]


class Transform3d:
    """A batch of N 3D transforms, each a 4x4 matrix acting on points as row vectors.

    A transform is either a leaf holding its (N, 4, 4) matrix, or a composition of other
    transforms made by :meth:`compose` and the chain methods (:meth:`translate`,
    :meth:`scale`, :meth:`rotate`, :meth:`rotate_axis_angle`). A composition multiplies its
    parts' matrices only when needed, in :meth:`get_matrix` or when applied, and keeps the
    product while none of the tensors involved requires grad and none changed in place.
    Batch sizes broadcast: a part of size 1 applies to every item of a batch of N.

    Transforms are not changed in place: every method returns a new one (or self).

    Args:
        dtype: dtype of the identity transform made when ``matrix`` is None.
        device: device of that identity transform.
        matrix: (4, 4) or (N, 4, 4) floating-point tensor, used without a copy (so gradients
            and in-place updates of it reach the transform); dtype and device then come from
            it.
    """

    def __init__(
        self,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
        matrix: torch.Tensor | None = None,
    ) -> None:
        if matrix is None:
            matrix = torch.eye(4, dtype=dtype, device=device)
        _check_matrices("Transform3d", "matrix", matrix, 4)
        self._matrix: torch.Tensor | None = matrix if matrix.dim() == 3 else matrix[None]
        self._parts: list[Transform3d] = []
        self._size = self._matrix.shape[0]
        self._cache: tuple[tuple[int, ...], torch.Tensor] | None = None

    @staticmethod
    def _composition(parts: list[Transform3d]) -> Transform3d:
        """A transform applying ``parts`` in order (their batch sizes must broadcast)."""
        out = object.__new__(Transform3d)
        out._matrix = None
        out._parts = parts
        out._size = broadcast_batch(
            "Transform3d.compose", "the batch sizes of composed transforms", [len(p) for p in parts]
        )
        out._cache = None
        return out

    # ---- matrices ----------------------------------------------------------------------------
    def _leaf_matrices(self) -> list[torch.Tensor]:
        if self._matrix is not None:
            return [self._matrix]
        return [m for p in self._parts for m in p._leaf_matrices()]

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the matrices."""
        return self._leaf_matrices()[0].dtype

    @property
    def device(self) -> torch.device:
        """device of the matrices."""
        return self._leaf_matrices()[0].device

    def __len__(self) -> int:
        return self._size

    def _full_matrix(self) -> torch.Tensor:
        """The (N, 4, 4) matrix (or (1, 4, 4) to broadcast), shared with the cache."""
        if self._matrix is not None:
            return self._matrix
        leaves = self._leaf_matrices()
        key = None
        if not torch.compiler.is_compiling() and \
                not any(m.requires_grad or m.is_inference() for m in leaves):
            key = tuple(m._version for m in leaves)  # counts in-place changes of a tensor
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
        out = functools.reduce(operator.matmul, (p._full_matrix() for p in self._parts))
        self._cache = None if key is None else (key, out)
        return out

    def get_matrix(self) -> torch.Tensor:
        """The matrices of the transforms, composed if this is a composition.

        Returns:
            (N, 4, 4) new tensor (or (1, 4, 4) when every part has batch size 1).
        """
        return self._full_matrix().clone()

    def _inverse_matrix(self) -> torch.Tensor:
        """Inverse of a leaf's matrix; subclasses override it with closed forms."""
        return torch.linalg.inv(self._matrix)

    # ---- building transforms -----------------------------------------------------------------
    def _check_others(self, op: str, others: tuple[Transform3d, ...]) -> None:
        for other in others:
            if not isinstance(other, Transform3d):
                raise InputError(f"{op}: others must be Transform3d objects, got {describe(other)}")
            if other.dtype != self.dtype or other.device != self.device:
                raise InputError(
                    f"{op}: others must have dtype {self.dtype} and device {self.device} like "
                    f"self, got dtype {other.dtype} and device {other.device}"
                )

    def compose(self, *others: Transform3d) -> Transform3d:
        """The transform applying self, then each of ``others`` in order.

        Args:
            others: Transform3d objects with self's dtype and device, batch sizes equal to
                self's or 1 (or self's is 1).
        Returns:
            a new Transform3d; its matrix is M_self @ M_others[0] @ ...
        """
        self._check_others("Transform3d.compose", others)
        # a chain of compositions stays flat: (a then b) then c is a then b then c
        first = [self] if self._matrix is not None else self._parts
        return Transform3d._composition([*first, *others])

    def translate(self, *args, **kwargs) -> Transform3d:
        """self followed by ``Translate(*args, **kwargs)`` on self's dtype and device."""
        return self.compose(Translate(*args, dtype=self.dtype, device=self.device, **kwargs))

    def scale(self, *args, **kwargs) -> Transform3d:
        """self followed by ``Scale(*args, **kwargs)`` on self's dtype and device."""
        return self.compose(Scale(*args, dtype=self.dtype, device=self.device, **kwargs))

    def rotate(self, *args, **kwargs) -> Transform3d:
        """self followed by ``Rotate(*args, **kwargs)`` on self's dtype and device."""
        return self.compose(Rotate(*args, dtype=self.dtype, device=self.device, **kwargs))

    def rotate_axis_angle(self, *args, **kwargs) -> Transform3d:
        """self followed by ``RotateAxisAngle(*args, **kwargs)`` on self's dtype and device."""
        return self.compose(RotateAxisAngle(*args, dtype=self.dtype, device=self.device, **kwargs))

    def inverse(self, invert_composed: bool = False) -> Transform3d:
        """The inverse transforms.

        Args:
            invert_composed: invert the composed matrix at once with a general 4x4 inverse.
                When False, a composition is inverted part by part in reverse order, each
                with its closed form where it has one (translations, scales, rotations),
                which is more accurate.
        Returns:
            a new transform of the same batch size.
        """
        if invert_composed:
            return Transform3d(matrix=torch.linalg.inv(self._full_matrix()))
        if self._matrix is not None:
            return self._replace(self._inverse_matrix())
        return Transform3d._composition([p.inverse() for p in reversed(self._parts)])

    def stack(self, *others: Transform3d) -> Transform3d:
        """One batch of self's transforms followed by those of ``others``.

        Args:
            others: Transform3d objects with self's dtype and device.
        Returns:
            a leaf Transform3d of batch size len(self) + sum of len(others).
        """
        self._check_others("Transform3d.stack", others)
        matrices = [t._full_matrix().expand(len(t), 4, 4) for t in (self, *others)]
        return Transform3d(matrix=torch.cat(matrices))

    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> Transform3d:
        """The transforms selected by an int, slice, list of ints, or bool or int64 tensor (an
        int keeps the batch dimension: batch size 1). As in PyTorch3D, a leaf keeps its class
        (``Translate(...)[i]`` is a Translate); a composition gives a leaf Transform3d."""
        if isinstance(index, int):
            index = [index]
        matrix = self._full_matrix().expand(len(self), 4, 4)[index]
        if self._matrix is not None:
            return self._replace(matrix)
        return Transform3d(matrix=matrix)

    # ---- applying transforms -----------------------------------------------------------------
    def _check_vectors(self, op: str, name: str, x: object) -> None:
        """x must be (P, 3) or (N, P, 3) with self's dtype and device and a batch size that
        broadcasts with self's."""
        if not (isinstance(x, torch.Tensor) and x.dim() in (2, 3)):
            raise InputError(
                f"{op}: {name} must be a tensor of shape (P, 3) or (N, P, 3), got {describe(x)}"
            )
        check_shape(op, name, x, [3])
        if x.dtype != self.dtype or x.device != self.device:
            raise InputError(
                f"{op}: {name} must have the transform's dtype {self.dtype} and device "
                f"{self.device}, got {describe(x)}"
            )
        if x.dim() == 3:
            broadcast_batch(op, f"the batch sizes of {name} and the transform", [len(x), len(self)])

    def _unbatch(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """(P, 3) output for (P, 3) input when the transform's batch size is 1."""
        return out[0] if x.dim() == 2 and len(self) == 1 else out

    def transform_points(self, points: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """Applies the transforms to points, dividing by the homogeneous coordinate.

        Args:
            points: (P, 3) or (N, P, 3).
            eps: when given, homogeneous coordinates w are replaced by sign(w) max(|w|, eps)
                (sign(0) = +1) before the division.
        Returns:
            (P, 3) for (P, 3) points and a transform of batch size 1, else (N, P, 3).
        """
        self._check_vectors("Transform3d.transform_points", "points", points)
        homog = torch.cat([points, torch.ones_like(points[..., :1])], -1)
        out = homog @ self._full_matrix()
        w = out[..., 3:]
        if eps is not None:
            magnitude = w.abs().clamp(min=eps)
            w = torch.where(w < 0, -magnitude, magnitude)
        return self._unbatch(points, out[..., :3] / w)

    def transform_normals(self, normals: torch.Tensor) -> torch.Tensor:
        """Applies the transforms to normal vectors: n @ inverse(M[:3, :3])^T.

        Transformed normals stay perpendicular to transformed tangents (they are not
        renormalized).

        Args:
            normals: (P, 3) or (N, P, 3).
        Returns:
            (P, 3) for (P, 3) normals and a transform of batch size 1, else (N, P, 3).
        """
        self._check_vectors("Transform3d.transform_normals", "normals", normals)
        linear = self._full_matrix()[:, :3, :3]
        return self._unbatch(normals, normals @ torch.linalg.inv(linear).transpose(1, 2))

    def get_se3_log(self, eps: float = 1e-4, cos_bound: float = 1e-4) -> torch.Tensor:
        """SE(3) logarithms of rigid transforms, see :func:`~r3d.transforms.se3.se3_log_map`.

        Returns:
            (N, 6): translational part, then axis times angle.
        """
        return se3_log_map(self._full_matrix(), eps=eps, cos_bound=cos_bound)

    # ---- copies, devices, dtypes -------------------------------------------------------------
    def _replace(self, matrix: torch.Tensor) -> Transform3d:
        """A leaf of the same class as self with another matrix."""
        out = copy.copy(self)
        out._matrix = matrix
        out._size = matrix.shape[0]
        out._cache = None
        return out

    def _map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Transform3d:
        """The same transform structure with fn applied to every leaf matrix."""
        if self._matrix is not None:
            return self._replace(fn(self._matrix))
        return Transform3d._composition([p._map(fn) for p in self._parts])

    def clone(self) -> Transform3d:
        """A copy with cloned matrices."""
        return self._map(torch.clone)

    def detach(self) -> Transform3d:
        """A copy whose matrices are detached from the autograd graph."""
        return self._map(torch.Tensor.detach)

    def to(
        self,
        device: torch.device | str | None = None,
        copy: bool = False,
        dtype: torch.dtype | None = None,
    ) -> Transform3d:
        """The transform on ``device`` with ``dtype`` (unchanged when None).

        Returns self when nothing changes and ``copy`` is False, else a new transform.
        """
        device = self.device if device is None else torch.device(device)
        dtype = self.dtype if dtype is None else dtype
        if not copy and device == self.device and dtype == self.dtype:
            return self
        return self._map(lambda m: m.to(device=device, dtype=dtype, copy=copy))

    def cpu(self) -> Transform3d:
        """The transform on the CPU."""
        return self.to("cpu")

    def cuda(self) -> Transform3d:
        """The transform on the current CUDA device."""
        return self.to("cuda")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(N={len(self)}, dtype={self.dtype}, device={self.device})"


# ---- inputs ------------------------------------------------------------------------------------


def _check_matrices(op: str, name: str, x: object, k: int) -> None:
    """x must be a floating-point tensor of shape (k, k) or (N, k, k)."""
    if not (
        isinstance(x, torch.Tensor)
        and x.is_floating_point()
        and x.dim() in (2, 3)
        and x.shape[-2:] == (k, k)
    ):
        raise InputError(
            f"{op}: {name} must be a floating-point tensor of shape ({k}, {k}) or "
            f"(N, {k}, {k}), got {describe(x)}"
        )


def _dtype_device(
    dtype: torch.dtype | None, device: torch.device | str | None, values: tuple[object, ...]
) -> tuple[torch.dtype, torch.device]:
    """dtype and device given, else those of the first tensor among values (float32 if it is
    not floating point, CPU when there is none)."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if dtype is None:
        dtype = tensors[0].dtype if tensors and tensors[0].is_floating_point() else torch.float32
    if device is None:
        device = tensors[0].device if tensors else torch.device("cpu")
    return dtype, torch.device(device)


def _as_batch(
    op: str, name: str, value: object, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """A number, 0-d or (N,) tensor as an (N,) tensor (N = 1 for a number)."""
    if isinstance(value, torch.Tensor) and value.dim() <= 1:
        return value.to(dtype=dtype, device=device).reshape(-1)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor([float(value)], dtype=dtype, device=device)
    raise InputError(
        f"{op}: {name} must be a number or a 0-d or (N,) tensor, got {describe(value)}"
    )


def _xyz(
    op: str,
    x: object,
    y: object,
    z: object,
    dtype: torch.dtype | None,
    device: torch.device | str | None,
    uniform: bool,
) -> torch.Tensor:
    """(N, 3) from an (N, 3) tensor x, or from x, y, z each a number or a 0-d or (N,) tensor
    (y = z = x when ``uniform`` and both are None)."""
    dtype, device = _dtype_device(dtype, device, (x, y, z))
    if isinstance(x, torch.Tensor) and x.dim() == 2:
        if x.shape[1] != 3 or y is not None or z is not None:
            raise InputError(
                f"{op}: a 2-d x must be an (N, 3) tensor given without y and z, got "
                f"{describe(x)} with y={describe(y)}, z={describe(z)}"
            )
        return x.to(dtype=dtype, device=device)
    if uniform and y is None and z is None:
        y = z = x
    if y is None or z is None:
        raise InputError(f"{op}: y and z are required unless x is an (N, 3) tensor")
    coords = [_as_batch(op, n, v, dtype, device) for n, v in zip("xyz", (x, y, z))]
    n = broadcast_batch(op, "the lengths of x, y and z", [len(c) for c in coords])
    return torch.stack([c.expand(n) for c in coords], dim=1)


# ---- subclasses --------------------------------------------------------------------------------


class Translate(Transform3d):
    """Translations: p -> p + t.

    Args:
        x: (N, 3) tensor of translations (then y and z are None), or the x components: a
            number, a 0-d or an (N,) tensor.
        y, z: the y and z components, like x (required unless x is (N, 3)); sizes 1 broadcast.
        dtype: default: that of the first tensor given if it is floating point, else float32.
        device: default: that of the first tensor given, else the CPU.
    """

    def __init__(self, x, y=None, z=None, dtype=None, device=None) -> None:
        t = _xyz("Translate", x, y, z, dtype, device, uniform=False)
        eye = torch.eye(3, dtype=t.dtype, device=t.device).expand(len(t), 3, 3)
        super().__init__(matrix=homogeneous(eye, t))

    def _inverse_matrix(self) -> torch.Tensor:
        return homogeneous(self._matrix[:, :3, :3], -self._matrix[:, 3, :3])


class Scale(Transform3d):
    """Scales along the axes: p -> p * (sx, sy, sz).

    Args:
        x: (N, 3) tensor of scale factors (then y and z are None), or the x factors: a
            number, a 0-d or an (N,) tensor.
        y, z: the y and z factors, like x; when both are None, y = z = x (uniform scale).
        dtype, device: as in :class:`Translate`.
    """

    def __init__(self, x, y=None, z=None, dtype=None, device=None) -> None:
        s = _xyz("Scale", x, y, z, dtype, device, uniform=True)
        super().__init__(matrix=homogeneous(torch.diag_embed(s), torch.zeros_like(s)))

    def _inverse_matrix(self) -> torch.Tensor:
        return torch.diag_embed(1.0 / self._matrix.diagonal(dim1=1, dim2=2))


class Rotate(Transform3d):
    """Rotations by matrices acting on row vectors: p -> p @ R.

    Args:
        R: (3, 3) or (N, 3, 3) rotation matrices; an R3DWarning is issued when R @ R^T is not
            the identity or det(R) is not 1 to within ``orthogonal_tol``.
        dtype: default: R's.
        device: default: R's.
        orthogonal_tol: tolerance of that check.
    """

    def __init__(self, R, dtype=None, device=None, orthogonal_tol: float = 1e-5) -> None:
        _check_matrices("Rotate", "R", R, 3)
        R = R.to(dtype=dtype or R.dtype, device=device or R.device)
        if R.dim() == 2:
            R = R[None]
        _warn_if_not_rotation(R, orthogonal_tol)
        super().__init__(matrix=homogeneous(R, R.new_zeros(len(R), 3)))

    def _inverse_matrix(self) -> torch.Tensor:
        return self._matrix.transpose(1, 2)


class RotateAxisAngle(Rotate):
    """Rotations about a coordinate axis, counterclockwise looking from the positive axis
    towards the origin (right-hand rule).

    Args:
        angle: a number, a 0-d or an (N,) tensor.
        axis: "X", "Y" or "Z" (case-insensitive).
        degrees: angle is in degrees (else radians).
        dtype, device: as in :class:`Translate`.
    """

    def __init__(self, angle, axis: str = "X", degrees: bool = True, dtype=None, device=None):
        if not (isinstance(axis, str) and axis.upper() in ("X", "Y", "Z")):
            raise InputError(f"RotateAxisAngle: axis must be 'X', 'Y' or 'Z', got {axis!r}")
        dtype, device = _dtype_device(dtype, device, (angle,))
        angle = _as_batch("RotateAxisAngle", "angle", angle, dtype, device)
        if degrees:
            angle = torch.deg2rad(angle)
        # the column-vector rotation R acts on rows as p @ R^T
        super().__init__(_axis_angle_rotation(axis.upper(), angle).transpose(1, 2))


def _warn_if_not_rotation(R: torch.Tensor, tol: float) -> None:
    """Warns when R (N, 3, 3) is not a rotation, where reading R on the host costs nothing
    (never on CUDA with value checks off, never while torch.compile traces)."""
    if not checks_now(R):
        return
    with torch.no_grad():
        eye = torch.eye(3, dtype=R.dtype, device=R.device)
        orthogonal = torch.allclose(R @ R.transpose(1, 2), eye.expand_as(R), atol=tol)
        det = torch.linalg.det(R)
        if not (orthogonal and torch.allclose(det, torch.ones_like(det), atol=tol)):
            warn(
                f"Rotate: R is not a rotation matrix to within orthogonal_tol={tol} "
                "(R @ R^T != I or det(R) != 1)"
            )
