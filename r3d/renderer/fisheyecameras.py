"""PyTorch3D's fisheye cameras: a pinhole extended by radial, tangential and thin-prism
distortion (the model of Project Aria's calibrations).

For a point (x, y, z) of the camera's view space, with a = x / z, b = y / z, r = |(a, b)| and
theta = atan(r)::

    (x_r, y_r) = theta (1 + k_1 theta^2 + ... + k_6 theta^12) (a, b) / r      radial
    rd2 = x_r^2 + y_r^2
    tangential = ((2 x_r^2 + rd2) p_1 + 2 x_r y_r p_2, (2 y_r^2 + rd2) p_2 + 2 x_r y_r p_1)
    thin_prism = (s_1 rd2 + s_2 rd2^2, s_3 rd2 + s_4 rd2^2)
    (u, v) = f ((x_r, y_r) + tangential + thin_prism) + (c_u, c_v)

The projection is not a matrix, so these cameras project points (``transform_points``) and
unproject them, but the rasterisers cannot use them (as in PyTorch3D).
"""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.cameras import _R, _T, CamerasBase, _check_image_size, _to_tensor

__all__ = ["FishEyeCameras"]

# below this |(a, b)|, theta / r is its limit 1
_SMALL = 1e-10
# Newton iterations of unproject_points (PyTorch3D's count)
_ITERATIONS = 50
# radial coefficients k_1 .. k_6, of theta^2 .. theta^12
_NUM_RADIAL = 6


def _exponents(like: torch.Tensor) -> torch.Tensor:
    """(6,) 1, ..., 6 with like's dtype and device."""
    return torch.arange(1, _NUM_RADIAL + 1, dtype=like.dtype, device=like.device)


def _theta_powers(theta: torch.Tensor) -> torch.Tensor:
    """(..., 6) theta^2, theta^4, ..., theta^12 of (...) theta."""
    return (theta * theta)[..., None] ** _exponents(theta)


class FishEyeCameras(CamerasBase):
    """Fisheye cameras (PyTorch3D's ``FishEyeCameras``, same arguments).

    Args:
        focal_length: a number, (N,) or (N, 1): f.
        principal_point: (2,) or (N, 2): (c_u, c_v).
        radial_params: (6,) or (N, 6): k_1 .. k_6.
        tangential_params: (2,) or (N, 2): p_1, p_2.
        thin_prism_params: (4,) or (N, 4): s_1 .. s_4.
        R, T: the world-to-view rotation and translation, used when ``world_coordinates``.
        world_coordinates: ``transform_points`` takes world points (else view-space points).
        use_radial: the radial term maps (a, b) to (x_r, y_r) (else (a, b) are kept, the
            tangential and thin-prism terms being still those of (x_r, y_r), as in PyTorch3D).
        use_tangential, use_thin_prism: add those terms.
        device: see :mod:`r3d.renderer.cameras`.
        image_size: (2,) or (N, 2) (height, width), optional.
    """

    _FIELDS = (
        "focal_length", "principal_point", "radial_params", "tangential_params",
        "thin_prism_params", "R", "T", "image_size",
    )
    _SHARED = {
        "world_coordinates": "world_coordinates",
        "use_radial": "use_radial",
        "use_tangential": "use_tangential",
        "use_thin_prism": "use_thin_prism",
    }
    _PERSPECTIVE = False

    def __init__(
        self,
        focal_length=((1.0,),),
        principal_point=((0.0, 0.0),),
        radial_params=((0.0,) * _NUM_RADIAL,),
        tangential_params=((0.0, 0.0),),
        thin_prism_params=((0.0, 0.0, 0.0, 0.0),),
        R=_R,
        T=_T,
        world_coordinates: bool = False,
        use_radial: bool = True,
        use_tangential: bool = True,
        use_thin_prism: bool = True,
        device=None,
        image_size=None,
    ) -> None:
        op = "FishEyeCameras"
        flags = {
            "world_coordinates": world_coordinates, "use_radial": use_radial,
            "use_tangential": use_tangential, "use_thin_prism": use_thin_prism,
        }
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise InputError(f"{op}: {name} must be a bool, got {describe(value)}")
            setattr(self, name, value)
        focal = _to_tensor(op, "focal_length", focal_length)
        if focal.dim() <= 1:
            focal = focal.reshape(-1, 1)
        specs = {
            "focal_length": (focal, (1,)),
            "principal_point": (principal_point, (2,)),
            "radial_params": (radial_params, (_NUM_RADIAL,)),
            "tangential_params": (tangential_params, (2,)),
            "thin_prism_params": (thin_prism_params, (4,)),
        }
        if image_size is not None:
            specs["image_size"] = (image_size, (2,))
        super().__init__(op, R, T, None, device, **specs)
        if image_size is None:
            self.image_size: torch.Tensor | None = None
        else:
            _check_image_size(op, self.image_size)

    @property
    def focal(self) -> torch.Tensor:
        """(N, 1) focal lengths (PyTorch3D's attribute name)."""
        return self.focal_length

    def _calibration_matrix(self) -> torch.Tensor:
        raise InputError(
            "FishEyeCameras: the fisheye projection is not a matrix: project points with "
            "transform_points (rasterisers cannot use these cameras)"
        )

    def _params(self) -> tuple[torch.Tensor, ...]:
        """focal (N, 1, 1), principal point (N, 1, 2), radial (N, 1, 6), tangential (N, 1, 2)
        and thin prism (N, 1, 4), to broadcast against (N, P, ...) tensors."""
        names = ("focal_length", "principal_point", "radial_params", "tangential_params",
                 "thin_prism_params")
        return tuple(getattr(self, n)[:, None] for n in names)

    def _distort(self, xr: torch.Tensor, tangential: torch.Tensor, prism: torch.Tensor):
        """The tangential and thin-prism terms enabled, (N, P, 2), at (x_r, y_r) (N, P, 2)."""
        rd2 = (xr * xr).sum(-1, keepdim=True)
        out = torch.zeros_like(xr)
        if self.use_tangential:
            out = out + 2 * (xr * tangential).sum(-1, keepdim=True) * xr + rd2 * tangential
        if self.use_thin_prism:
            powers = torch.cat([rd2, rd2 * rd2], dim=-1)  # (N, P, 2)
            out = out + torch.stack(
                [(powers * prism[..., :2]).sum(-1), (powers * prism[..., 2:]).sum(-1)], dim=-1
            )
        return out

    def _distort_jacobian(self, xr: torch.Tensor, tangential: torch.Tensor, prism: torch.Tensor):
        """d(x_r + the enabled terms) / d(x_r), (N, P, 2, 2)."""
        x, y = xr.unbind(-1)
        jac = torch.zeros(*xr.shape, 2, dtype=xr.dtype, device=xr.device)
        jac[..., 0, 0] = 1.0
        jac[..., 1, 1] = 1.0
        if self.use_tangential:
            p1, p2 = tangential.unbind(-1)
            off = 2 * (x * p2 + y * p1)
            jac = jac + torch.stack([
                torch.stack([6 * x * p1 + 2 * y * p2, off], -1),
                torch.stack([off, 2 * x * p1 + 6 * y * p2], -1),
            ], -2)
        if self.use_thin_prism:
            rd2 = x * x + y * y
            du = 2 * (prism[..., 0] + 2 * prism[..., 1] * rd2)  # d(prism_u) / d(rd2), times 2
            dv = 2 * (prism[..., 2] + 2 * prism[..., 3] * rd2)
            jac = jac + torch.stack([
                torch.stack([du * x, du * y], -1), torch.stack([dv * x, dv * y], -1),
            ], -2)
        return jac

    def _batched(self, op: str, name: str, points: torch.Tensor) -> torch.Tensor:
        """(P, 3) or (M, P, 3) points (M = 1 or N, or N = 1) as (max(M, N), P, 3)."""
        self._check_points(op, name, points)
        batched = points if points.dim() == 3 else points[None]
        return batched.expand(max(len(batched), len(self)), -1, -1)

    def _unbatched(self, points: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return out[0] if points.dim() == 2 and len(self) == 1 else out

    def transform_points(
        self, points: torch.Tensor, eps: float | None = None, **kwargs
    ) -> torch.Tensor:
        """Points to the image plane: (u, v, 1).

        Args:
            points: (P, 3) or (M, P, 3) view-space points, or world points when
                ``world_coordinates``; M is 1 or N (camera i projects points i), or N is 1.
                Points behind the camera (z < 0) project as their mirror image through it.
            eps: see :meth:`CamerasBase.transform_points` (for the world-to-view transform).
            kwargs: call-time overrides of the cameras' parameters.
        Returns:
            (P, 3) for (P, 3) points and one camera, else (max(M, N), P, 3).
        """
        op = "FishEyeCameras.transform_points"
        cams = self._for_call("transform_points", kwargs)
        if cams.world_coordinates:
            cams._check_points(op, "points", points)
            view = cams.get_world_to_view_transform().transform_points(points, eps=eps)
        else:
            view = points
        xyz = cams._batched(op, "points", view)
        f, pp, radial, tangential, prism = cams._params()
        ab = xyz[..., :2] / xyz[..., 2:]
        r = ab.norm(dim=-1)
        small = r < _SMALL
        theta = torch.atan(r)
        theta_over_r = torch.where(small, torch.ones_like(r), theta / torch.where(small, 1.0, r))
        radial_factor = 1 + (_theta_powers(theta) * radial).sum(-1)
        xr = (radial_factor * theta_over_r)[..., None] * ab
        uv = (xr if cams.use_radial else ab) + cams._distort(xr, tangential, prism)
        out = torch.cat([f * uv + pp, torch.ones_like(uv[..., :1])], dim=-1)
        return cams._unbatched(points, out)

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        scaled_depth_input: bool = False,
        **kwargs,
    ) -> torch.Tensor:
        """The view-space points at depth 1 that project to (u, v), as PyTorch3D's method:
        ``unproject_points(transform_points(X))`` is X / X_z. The distortion is inverted by
        Newton's method (tangential and thin-prism terms, then theta), assuming the radial term
        is used.

        Args:
            xy_depth: (P, 3) or (M, P, 3) (u, v, depth); the depth is not used.
            world_coordinates, scaled_depth_input: accepted for PyTorch3D's signature, unused
                (as there: the result is in view space, at depth 1).
            kwargs: call-time overrides of the cameras' parameters.
        Returns:
            (P, 3) for (P, 3) input and one camera, else (max(M, N), P, 3).
        """
        op = "FishEyeCameras.unproject_points"
        cams = self._for_call("unproject_points", kwargs, store_pose=False)
        uvd = cams._batched(op, "xy_depth", xy_depth)
        f, pp, radial, tangential, prism = cams._params()
        target = (uvd[..., :2] - pp) / f
        xr = target
        if cams.use_tangential or cams.use_thin_prism:
            for _ in range(_ITERATIONS):
                residual = target - xr - cams._distort(xr, tangential, prism)
                xr = xr + torch.linalg.solve(
                    cams._distort_jacobian(xr, tangential, prism), residual[..., None]
                )[..., 0]
        rd = xr.norm(dim=-1)
        theta = cams._solve_theta(rd, radial)
        small = rd < _SMALL
        scale = torch.where(
            small, torch.ones_like(rd), torch.tan(theta) / torch.where(small, 1.0, rd)
        )
        out = torch.cat([scale[..., None] * xr, torch.ones_like(rd[..., None])], dim=-1)
        return cams._unbatched(xy_depth, out)

    def _solve_theta(self, rd: torch.Tensor, radial: torch.Tensor) -> torch.Tensor:
        """theta with theta (1 + k_1 theta^2 + ... + k_6 theta^12) = rd (N, P), by Newton's
        method from theta = rd; a step where the derivative vanishes is skipped, and a theta
        reaching +-pi / 2 is put back to 0.999 pi / 2 (as in PyTorch3D)."""
        odd = 2 * _exponents(rd) + 1
        theta = rd
        for _ in range(_ITERATIONS):
            powers = _theta_powers(theta)
            value = theta * (1 + (powers * radial).sum(-1))
            slope = 1 + (odd * powers * radial).sum(-1)
            flat = slope.abs() <= _SMALL
            theta = theta + torch.where(flat, 0.0, (rd - value) / torch.where(flat, 1.0, slope))
            theta = torch.where(theta.abs() >= torch.pi / 2, 0.999 * torch.pi / 2, theta)
        return theta
