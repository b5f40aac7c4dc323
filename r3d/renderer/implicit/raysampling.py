"""Ray samplers: the rays through the pixels of cameras, and the lengths sampled along them
(PyTorch3D's ``MultinomialRaysampler``, ``NDCMultinomialRaysampler``, ``MonteCarloRaysampler``).

A ray through the image-plane point (x, y) (NDC, +X left, +Y up) is found by unprojecting the
points at view depths 1 and 2: the direction is their difference and the origin lies one
direction before the first, so a point at length ``d`` along the ray is at view depth ``d``
(for perspective and orthographic cameras alike).
"""

from __future__ import annotations

import torch

from r3d._checks import check_finite_float, check_int, check_positive_int, describe
from r3d.errors import InputError
from r3d.renderer.cameras import CamerasBase
from r3d.renderer.implicit.utils import HeterogeneousRayBundle, RayBundle
from r3d.value_checks import expect

__all__ = [
    "GridRaysampler",
    "MonteCarloRaysampler",
    "MultinomialRaysampler",
    "NDCGridRaysampler",
    "NDCMultinomialRaysampler",
]


class _RaySettings:
    """The settings every raysampler shares, checked: points per ray, depth range, ray counts,
    unit directions, stratified sampling."""

    def __init__(self, op: str, n_pts_per_ray, min_depth, max_depth, n_rays_per_image,
                 n_rays_total, unit_directions, stratified_sampling) -> None:
        check_int(op, "n_pts_per_ray", n_pts_per_ray, 0)
        check_int(op, "n_rays_per_image", n_rays_per_image, 1, optional=True)
        check_int(op, "n_rays_total", n_rays_total, 1, optional=True)
        self._n_pts_per_ray = n_pts_per_ray
        self._min_depth = check_finite_float(op, "min_depth", min_depth)
        self._max_depth = check_finite_float(op, "max_depth", max_depth)
        self._n_rays_per_image = n_rays_per_image
        self._n_rays_total = n_rays_total
        self._unit_directions = bool(unit_directions)
        self._stratified_sampling = bool(stratified_sampling)


class MultinomialRaysampler(torch.nn.Module):
    """Rays through the pixel centres of a regular grid on the image plane, or through a random
    subset of them, with ``n_pts_per_ray`` depths from ``min_depth`` to ``max_depth`` (evenly
    spaced, or one at random in each of the evenly spaced strata).

    The grid has ``image_height`` rows from y = ``min_y`` to ``max_y`` and ``image_width``
    columns from x = ``min_x`` to ``max_x`` (pixel centres, in the NDC of the cameras); see
    :class:`NDCMultinomialRaysampler` for the grid of PyTorch3D's rasterisers.

    Args (keyword only):
        min_x, max_x, min_y, max_y: the pixel centres of the first and last column and row.
        image_width, image_height: the grid's size.
        n_pts_per_ray: the number of lengths sampled along each ray (>= 0).
        min_depth, max_depth: the depth range of the samples.
        n_rays_per_image: when given, that many rays are drawn at random from each camera's
            grid (without replacement where there are enough pixels).
        n_rays_total: when given, that many rays in all: cameras are drawn with replacement and
            one ray from each draw; the result is a :class:`HeterogeneousRayBundle`. Not both
            of n_rays_per_image and n_rays_total.
        unit_directions: normalise the ray directions (the lengths stay the depths).
        stratified_sampling: jitter each length at random within its stratum.
    """

    def __init__(
        self,
        *,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        self._settings = _RaySettings(op, n_pts_per_ray, min_depth, max_depth, n_rays_per_image,
                                      n_rays_total, unit_directions, stratified_sampling)
        self.min_x, self.max_x, self.min_y, self.max_y = (
            check_finite_float(op, name, value)
            for name, value in (("min_x", min_x), ("max_x", max_x), ("min_y", min_y),
                                ("max_y", max_y))
        )
        self._image_width = check_positive_int(op, "image_width", image_width)
        self._image_height = check_positive_int(op, "image_height", image_height)

    def pixel_grid(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """(image_height, image_width, 2) the (x, y) of every pixel centre."""
        y = torch.linspace(self.min_y, self.max_y, self._image_height, dtype=dtype, device=device)
        x = torch.linspace(self.min_x, self.max_x, self._image_width, dtype=dtype, device=device)
        return torch.stack(torch.meshgrid(x, y, indexing="xy"), dim=-1)

    def forward(
        self,
        cameras: CamerasBase,
        *,
        mask: torch.Tensor | None = None,
        min_depth: float | None = None,
        max_depth: float | None = None,
        n_rays_per_image: int | None = None,
        n_pts_per_ray: int | None = None,
        stratified_sampling: bool | None = None,
        n_rays_total: int | None = None,
        **kwargs,
    ) -> RayBundle | HeterogeneousRayBundle:
        """The rays of a batch of N cameras; arguments given here override the constructor's.

        Args:
            cameras: N cameras.
            mask: optional (N, image_height, image_width) bool or non-negative float weights:
                rays are drawn only from pixels with positive weight, in proportion to it. When
                neither n_rays_per_image nor n_rays_total is given, each camera gets as many
                rays as the smallest mask has pixels.
            kwargs: ignored (the renderer passes its own arguments on).
        Returns:
            A RayBundle whose origins and directions are (N, S1, S2, 3), lengths
            (N, S1, S2, n_pts_per_ray) and xys (N, S1, S2, 2), where (S1, S2) is
            (image_height, image_width) for the full grid and (n, 1) when n rays are drawn per
            camera; with n_rays_total, a HeterogeneousRayBundle with (S1, S2) = (1, 1) and the
            rays of all cameras packed along the first dimension (n_rays_total of them).
        """
        op = f"{type(self).__name__}.forward"
        s = self._settings
        n_rays_total = s._n_rays_total if n_rays_total is None else n_rays_total
        n_rays_per_image = s._n_rays_per_image if n_rays_per_image is None else n_rays_per_image
        check_int(op, "n_rays_total", n_rays_total, 1, optional=True)
        check_int(op, "n_rays_per_image", n_rays_per_image, 1, optional=True)
        if n_rays_total is not None and n_rays_per_image is not None:
            raise InputError(f"{op}: n_rays_total and n_rays_per_image cannot both be given")
        _check_cameras(op, cameras)
        if mask is not None:
            _check_mask(op, mask, cameras, (self._image_height, self._image_width))
        heterogeneous = n_rays_total is not None
        camera_ids = camera_counts = None
        if heterogeneous:
            cameras, mask, camera_ids, camera_counts, n_rays_per_image = _sample_cameras(
                n_rays_total, cameras, mask
            )
        N = len(cameras)
        xys = self.pixel_grid(cameras.dtype, cameras.device).expand(N, -1, -1, -1)
        if mask is not None and n_rays_per_image is None:
            # the ray count is the output's size: it has to be known on the host
            n_rays_per_image = int((mask.reshape(N, -1) > 0).sum(dim=1).min())
        if n_rays_per_image is not None:
            weights = (
                xys.new_ones(N, self._image_height * self._image_width)
                if mask is None
                else mask.reshape(N, -1).to(xys.dtype)
            )
            pixels = sample_pixels(op, weights, n_rays_per_image)
            xys = xys.reshape(N, -1, 2).gather(1, pixels[..., None].expand(-1, -1, 2))[:, :, None]
        bundle = xy_to_ray_bundle(
            cameras,
            xys,
            s._min_depth if min_depth is None else check_finite_float(op, "min_depth", min_depth),
            s._max_depth if max_depth is None else check_finite_float(op, "max_depth", max_depth),
            s._n_pts_per_ray if n_pts_per_ray is None else n_pts_per_ray,
            s._unit_directions,
            s._stratified_sampling if stratified_sampling is None else stratified_sampling,
        )
        return pack_ray_bundle(bundle, camera_ids, camera_counts) if heterogeneous else bundle


class NDCMultinomialRaysampler(MultinomialRaysampler):
    """A :class:`MultinomialRaysampler` on the pixel grid of PyTorch3D's rasterisers: the pixel
    centres of an image_width x image_height image whose shorter side spans [-1, 1] in NDC
    (the longer one [-u, u], u the aspect ratio), +X left and +Y up: the first column is at
    x = u (1 - 1 / W) on the left, the first row at the top. Other arguments as in
    MultinomialRaysampler.
    """

    def __init__(
        self,
        *,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        op = type(self).__name__
        W = check_positive_int(op, "image_width", image_width)
        H = check_positive_int(op, "image_height", image_height)
        half_x, half_y = (W / H, 1.0) if W >= H else (1.0, H / W)  # half-extents of the image
        first_x, first_y = half_x - half_x / W, half_y - half_y / H  # the first pixel's centre
        super().__init__(
            min_x=first_x, max_x=-first_x, min_y=first_y, max_y=-first_y,
            image_width=W, image_height=H, n_pts_per_ray=n_pts_per_ray, min_depth=min_depth,
            max_depth=max_depth, n_rays_per_image=n_rays_per_image, n_rays_total=n_rays_total,
            unit_directions=unit_directions, stratified_sampling=stratified_sampling,
        )


class MonteCarloRaysampler(torch.nn.Module):
    """Rays through points drawn uniformly at random in the image-plane rectangle
    [min_x, max_x] x [min_y, max_y] (NDC), with ``n_pts_per_ray`` depths from ``min_depth`` to
    ``max_depth``.

    Args:
        min_x, max_x, min_y, max_y: the rectangle.
        n_rays_per_image: rays per camera; or
        n_rays_total (keyword): rays in all, from cameras drawn with replacement (the result is
            a :class:`HeterogeneousRayBundle`). Exactly one of the two is given.
        n_pts_per_ray, min_depth, max_depth, unit_directions, stratified_sampling: as in
            :class:`MultinomialRaysampler`.
    """

    def __init__(
        self,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        n_rays_per_image: int | None,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        *,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        self._settings = _RaySettings(op, n_pts_per_ray, min_depth, max_depth, n_rays_per_image,
                                      n_rays_total, unit_directions, stratified_sampling)
        if (n_rays_per_image is None) == (n_rays_total is None):
            raise InputError(
                f"{op}: exactly one of n_rays_per_image and n_rays_total must be given, got "
                f"{n_rays_per_image!r} and {n_rays_total!r}"
            )
        self._min_x, self._max_x, self._min_y, self._max_y = (
            check_finite_float(op, name, value)
            for name, value in (("min_x", min_x), ("max_x", max_x), ("min_y", min_y),
                                ("max_y", max_y))
        )

    def forward(
        self, cameras: CamerasBase, *, stratified_sampling: bool | None = None, **kwargs
    ) -> RayBundle | HeterogeneousRayBundle:
        """The rays of a batch of N cameras.

        Args:
            cameras: N cameras.
            stratified_sampling: overrides the constructor's when given.
            kwargs: ignored (the renderer passes its own arguments on).
        Returns:
            A RayBundle whose origins and directions are (N, n_rays_per_image, 3), lengths
            (N, n_rays_per_image, n_pts_per_ray) and xys (N, n_rays_per_image, 2); with
            n_rays_total, a HeterogeneousRayBundle of shapes (n_rays_total, 1, ...).
        """
        _check_cameras(f"{type(self).__name__}.forward", cameras)
        s = self._settings
        heterogeneous = s._n_rays_total is not None
        n_rays, camera_ids, camera_counts = s._n_rays_per_image, None, None
        if heterogeneous:
            cameras, _, camera_ids, camera_counts, n_rays = _sample_cameras(
                s._n_rays_total, cameras, None
            )
        uniform = torch.rand(len(cameras), n_rays, 2, dtype=cameras.dtype, device=cameras.device)
        xys = torch.stack([
            self._min_x + uniform[..., 0] * (self._max_x - self._min_x),
            self._min_y + uniform[..., 1] * (self._max_y - self._min_y),
        ], dim=-1)
        bundle = xy_to_ray_bundle(
            cameras,
            xys,
            s._min_depth,
            s._max_depth,
            s._n_pts_per_ray,
            s._unit_directions,
            s._stratified_sampling if stratified_sampling is None else stratified_sampling,
        )
        return pack_ray_bundle(bundle, camera_ids, camera_counts) if heterogeneous else bundle


def GridRaysampler(
    min_x: float,
    max_x: float,
    min_y: float,
    max_y: float,
    image_width: int,
    image_height: int,
    n_pts_per_ray: int,
    min_depth: float,
    max_depth: float,
) -> MultinomialRaysampler:
    """PyTorch3D's older name: a :class:`MultinomialRaysampler` over the whole grid."""
    return MultinomialRaysampler(
        min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y, image_width=image_width,
        image_height=image_height, n_pts_per_ray=n_pts_per_ray, min_depth=min_depth,
        max_depth=max_depth,
    )


def NDCGridRaysampler(
    image_width: int, image_height: int, n_pts_per_ray: int, min_depth: float, max_depth: float
) -> NDCMultinomialRaysampler:
    """PyTorch3D's older name: an :class:`NDCMultinomialRaysampler` over the whole grid."""
    return NDCMultinomialRaysampler(
        image_width=image_width, image_height=image_height, n_pts_per_ray=n_pts_per_ray,
        min_depth=min_depth, max_depth=max_depth,
    )


# ---- the steps -------------------------------------------------------------------------------


def _check_cameras(op: str, cameras: object) -> None:
    if not isinstance(cameras, CamerasBase):
        raise InputError(f"{op}: cameras must be an r3d cameras object, got {describe(cameras)}")


def _check_mask(op: str, mask: object, cameras: CamerasBase, size: tuple[int, int]) -> None:
    """Raises InputError unless mask is an (N, H, W) bool or float tensor on the cameras'
    device with no negative value (the value check may be deferred on CUDA)."""
    if (
        not isinstance(mask, torch.Tensor)
        or mask.shape != (len(cameras), *size)
        or not (mask.dtype == torch.bool or mask.is_floating_point())
        or mask.device != cameras.device
    ):
        raise InputError(
            f"{op}: mask must be a bool or float tensor of shape {(len(cameras), *size)} "
            f"(cameras, image_height, image_width) on {cameras.device}, got {describe(mask)}"
        )
    if mask.is_floating_point() and mask.numel():
        expect(op, mask.min() >= 0, "mask must not hold negative weights")


def sample_pixels(op: str, weights: torch.Tensor, n: int) -> torch.Tensor:
    """Draws n pixels per row of ``weights``, in proportion to the weights: without replacement
    where a row has at least n positive weights, with replacement elsewhere. Reads nothing on
    the host (a row without positive weight is an error, deferred on CUDA).

    Args:
        weights: (N, P) non-negative.
    Returns:
        (N, n) int64 pixel indices, never of a pixel with zero weight.
    """
    positive = (weights > 0).sum(dim=1)
    if weights.numel():
        expect(op, (positive > 0).all(), "mask must select at least one pixel of every camera")
    # with replacement: inverse transform sampling of the cumulated weights
    cdf = weights.cumsum(dim=1)
    u = torch.rand(weights.shape[0], n, dtype=weights.dtype, device=weights.device)
    drawn = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).clamp_(max=weights.shape[1] - 1)
    if n > weights.shape[1]:
        return drawn
    # without replacement: the n largest keys w / E, E ~ Exp(1), are a weighted draw of n
    keys = weights / torch.empty_like(weights).exponential_()
    distinct = keys.topk(n, dim=1, sorted=False).indices
    return torch.where((positive >= n)[:, None], distinct, drawn)


def _sample_cameras(
    n_rays: int, cameras: CamerasBase, mask: torch.Tensor | None
) -> tuple[CamerasBase, torch.Tensor | None, torch.Tensor, torch.Tensor, int]:
    """Draws n_rays cameras with replacement (on the host: the counts size the output).

    Returns:
        the distinct cameras drawn (M of them), their masks (or None), their (M,) int64 ids and
        (M,) draw counts, and the largest count.
    """
    drawn = torch.randint(0, len(cameras), (n_rays,), dtype=torch.int64)
    ids, counts = torch.unique(drawn, return_counts=True)
    masks = None if mask is None else mask[ids.to(mask.device)]
    return cameras[ids], masks, ids, counts, int(counts.max())


def pack_ray_bundle(
    bundle: RayBundle, camera_ids: torch.Tensor, camera_counts: torch.Tensor
) -> HeterogeneousRayBundle:
    """Packs the first ``camera_counts[m]`` rays of each camera m of a bundle of M cameras.

    Args:
        bundle: a RayBundle of shapes (M, R, ...).
        camera_ids, camera_counts: (M,) int64 on the host.
    Returns:
        a HeterogeneousRayBundle of shapes (sum(camera_counts), 1, ...); camera_counts on the
        rays' device.
    """
    device = bundle.origins.device
    R = bundle.origins.shape[1]
    kept = (torch.arange(R) < camera_counts[:, None]).flatten().nonzero().squeeze(1).to(device)
    packed = (t.flatten(0, 1)[kept][:, None] for t in bundle)
    return HeterogeneousRayBundle(*packed, camera_ids=camera_ids,
                                  camera_counts=camera_counts.to(device))


def xy_to_ray_bundle(
    cameras: CamerasBase,
    xys: torch.Tensor,
    min_depth: float,
    max_depth: float,
    n_pts_per_ray: int,
    unit_directions: bool,
    stratified_sampling: bool = False,
) -> RayBundle:
    """The rays of N cameras through image-plane points, sampled at evenly spaced depths.

    Args:
        cameras: N cameras.
        xys: (N, ..., 2) NDC points, in the cameras' dtype and on their device.
        min_depth, max_depth, n_pts_per_ray: the depths sampled.
        unit_directions: normalise the directions.
        stratified_sampling: jitter each depth at random within its stratum.
    Returns:
        RayBundle: origins and directions (N, ..., 3), lengths (N, ..., n_pts_per_ray), xys.
    """
    N, spatial = xys.shape[0], xys.shape[1:-1]
    R = spatial.numel()
    flat = xys.reshape(N, R, 2)
    depths = torch.cat([flat.new_ones(N, R, 1), flat.new_full((N, R, 1), 2.0)], dim=1)
    at_depths = torch.cat([flat.repeat(1, 2, 1), depths], dim=-1)  # (N, 2R, 3): depth 1, then 2
    world = cameras.unproject_points(at_depths, world_coordinates=True, from_ndc=True)
    directions = world[:, R:] - world[:, :R]
    origins = world[:, :R] - directions
    if unit_directions:
        directions = torch.nn.functional.normalize(directions, dim=-1)
    lengths = torch.linspace(min_depth, max_depth, n_pts_per_ray, dtype=xys.dtype,
                             device=xys.device).expand(N, R, n_pts_per_ray)
    if stratified_sampling:
        lengths = jitter_within_strata(lengths)
    return RayBundle(
        origins.reshape(N, *spatial, 3),
        directions.reshape(N, *spatial, 3),
        lengths.reshape(N, *spatial, n_pts_per_ray),
        xys,
    )


def jitter_within_strata(lengths: torch.Tensor) -> torch.Tensor:
    """Moves each of the sorted ``lengths`` (..., P) to a uniformly random place between the
    midpoints to its neighbours (the first and last stay on their side of the range)."""
    mids = 0.5 * (lengths[..., 1:] + lengths[..., :-1])
    lower = torch.cat([lengths[..., :1], mids], dim=-1)
    upper = torch.cat([mids, lengths[..., -1:]], dim=-1)
    return lower + (upper - lower) * torch.rand_like(lower)
