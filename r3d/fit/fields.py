"""What ``r3d fit`` optimises when it fits a volume (``model: volume``) or a radiance field
(``model: field``) to views.

Both fill a cube of side ``size`` centred at ``center`` (world units) and are rendered by
emission-absorption ray marching (:mod:`r3d.fit.rays`): per sample along a ray an opacity in
[0, 1] and a colour. A :class:`VolumeModel` holds them as a grid of voxels (densities and RGB
logits, trilinearly interpolated); a :class:`FieldModel` computes them with a small MLP of the
harmonic embedding of the point (PyTorch3D's ``fit_simple_neural_radiance_field``, without view
dependence), its density turned into an opacity over the spacing of the samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from r3d.renderer.implicit import HarmonicEmbedding, RayBundle, ray_bundle_to_ray_points
from r3d.structures import Volumes

__all__ = ["FieldModel", "RaySpan", "VolumeModel", "grid_points"]


@dataclass(frozen=True)
class RaySpan:
    """Where a model's rays sample it: ``points`` samples per ray between depths ``near`` and
    ``far`` (world units along each camera's view axis)."""

    near: float
    far: float
    points: int


def grid_points(center: torch.Tensor, size: float, resolution: int) -> torch.Tensor:
    """(R, R, R, 3) world coordinates (x, y, z) of the voxel centres of a cube of ``size``
    centred at ``center`` (3,) split into ``resolution`` voxels per side, indexed [z, y, x]."""
    step = size / resolution
    axis = (torch.arange(resolution, device=center.device, dtype=center.dtype) + 0.5) * step
    axis = axis - size / 2
    z, y, x = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack([x, y, z], dim=-1) + center


class VolumeModel(nn.Module):
    """A coloured density grid: ``density_logits`` (1, 1, R, R, R) and ``color_logits``
    (1, 3, R, R, R), indexed [z, y, x], over the cube of ``size`` centred at ``center`` (3,)
    (voxel centres at :func:`grid_points`). Per-sample opacities and colours are sigmoids of
    the trilinearly interpolated logits' grid values."""

    def __init__(self, center: torch.Tensor, size: float, span: RaySpan, resolution: int,
                 start_logit: float, colors: bool) -> None:
        super().__init__()
        self.colors = colors
        self.size = float(size)
        self.span = span
        self.register_buffer("center", center.detach().clone())
        self.density_logits = nn.Parameter(
            center.new_full((1, 1, resolution, resolution, resolution), start_logit))
        self.color_logits = nn.Parameter(center.new_zeros((1, 3, resolution, resolution,
                                                           resolution)),
                                         requires_grad=colors)

    @property
    def resolution(self) -> int:
        """Voxels per side."""
        return self.density_logits.shape[-1]

    def volumes(self, n: int = 1) -> Volumes:
        """The grid as a batch of ``n`` identical ``Volumes`` (densities (n, 1, R, R, R),
        features (n, 3, R, R, R))."""
        expand = (n, -1, -1, -1, -1)
        return Volumes(densities=torch.sigmoid(self.density_logits).expand(expand),
                       features=torch.sigmoid(self.color_logits).expand(expand),
                       voxel_size=self.size / self.resolution,
                       volume_translation=-self.center)

    def shape_parameters(self) -> list[nn.Parameter]:
        """The density logits."""
        return [self.density_logits]

    def color_parameters(self) -> list[nn.Parameter]:
        """The colour logits (none when colours are not fitted)."""
        return [self.color_logits] if self.colors else []

    def regularised(self) -> list[torch.Tensor]:
        """The grids the total-variation term smooths: densities and colours (n, C, R, R, R)."""
        grids = [torch.sigmoid(self.density_logits)]
        return grids + [torch.sigmoid(self.color_logits)] if self.colors else grids

    @torch.no_grad()
    def upsampled(self, resolution: int) -> VolumeModel:
        """This model on a finer (or coarser) grid: the logits resampled trilinearly."""
        model = VolumeModel(self.center, self.size, self.span, resolution, 0.0, self.colors)
        for name in ("density_logits", "color_logits"):
            old = getattr(self, name)
            getattr(model, name).copy_(F.interpolate(old, size=(resolution,) * 3,
                                                     mode="trilinear", align_corners=False))
        return model

    @torch.no_grad()
    def density_grid(self) -> torch.Tensor:
        """(R, R, R) per-sample opacities of the voxels, [z, y, x]."""
        return torch.sigmoid(self.density_logits[0, 0])

    @torch.no_grad()
    def colors_at(self, points: torch.Tensor) -> torch.Tensor:
        """(P, 3) colours at world points (P, 3) (trilinear)."""
        local = self.volumes().world_to_local_coords(points[None])
        grid = torch.sigmoid(self.color_logits)
        out = F.grid_sample(grid, local[:, :, None, None], align_corners=True)
        return out[0, :, :, 0, 0].T

    def state(self) -> dict:
        """The model as a dict of CPU tensors and settings, for checkpoints."""
        return {"kind": "volume", "colors": self.colors, "size": self.size,
                "span": asdict(self.span),
                **{k: v.detach().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> VolumeModel:
        """The model :meth:`state` described, on ``device``."""
        model = cls(state["center"], state["size"], RaySpan(**state["span"]),
                    state["density_logits"].shape[-1], 0.0, state["colors"])
        model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})
        return model.to(device)


class FieldModel(nn.Module):
    """A radiance field: an MLP (``width`` units, ``depth`` hidden layers) of the harmonic
    embedding of points in the cube's local coordinates ([-1, 1]^3), giving a density
    sigma >= 0 (softplus) and a colour (sigmoid). A sample's opacity is
    ``1 - exp(-sigma * spacing / size)`` (spacing: the distance to the ray's next sample)."""

    def __init__(self, center: torch.Tensor, size: float, span: RaySpan, colors: bool,
                 width: int = 128, depth: int = 3, harmonics: int = 6) -> None:
        super().__init__()
        self.colors = colors
        self.size = float(size)
        self.span = span
        self.config = {"width": width, "depth": depth, "harmonics": harmonics}
        self.register_buffer("center", center.detach().clone())
        self.embed = HarmonicEmbedding(harmonics)
        layers: list[nn.Module] = []
        dim = self.embed.get_output_dim(3)
        for _ in range(depth):
            layers += [nn.Linear(dim, width), nn.Softplus(beta=10.0)]
            dim = width
        self.trunk = nn.Sequential(*layers).to(center)
        self.density_head = nn.Linear(width, 1).to(center)
        self.color_head = nn.Linear(width, 3).to(center)
        self.color_head.requires_grad_(colors)
        with torch.no_grad():
            self.density_head.bias.fill_(-1.0)

    def _local(self, points: torch.Tensor) -> torch.Tensor:
        return (points - self.center) * (2.0 / self.size)

    def sigma_and_rgb(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Density (..., 1) in units of the cube's half side, and colours (..., 3), at world
        points (..., 3); zero density outside the cube."""
        local = self._local(points)
        h = self.trunk(self.embed(local))
        inside = (local.abs() <= 1).all(-1, keepdim=True)
        sigma = F.softplus(self.density_head(h)) * inside
        return sigma, torch.sigmoid(self.color_head(h))

    def forward(self, ray_bundle: RayBundle, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        """The field for :class:`r3d.renderer.ImplicitRenderer`: per-sample opacities
        (..., P, 1) and colours (..., P, 3) of the ray bundle's points."""
        sigma, rgb = self.sigma_and_rgb(ray_bundle_to_ray_points(ray_bundle))
        lengths = ray_bundle.lengths
        gaps = torch.cat([lengths[..., 1:] - lengths[..., :-1],
                          torch.full_like(lengths[..., :1], 1e10)], dim=-1)
        gaps = gaps * ray_bundle.directions.norm(dim=-1, keepdim=True) * (2.0 / self.size)
        return 1.0 - torch.exp(-sigma * gaps[..., None]), rgb

    def shape_parameters(self) -> list[nn.Parameter]:
        """The trunk and the density head."""
        return [*self.trunk.parameters(), *self.density_head.parameters()]

    def color_parameters(self) -> list[nn.Parameter]:
        """The colour head (none when colours are not fitted)."""
        return list(self.color_head.parameters()) if self.colors else []

    def regularised(self) -> list[torch.Tensor]:
        """No grid to smooth: the MLP is smooth by construction."""
        return []

    @torch.no_grad()
    def density_grid(self, resolution: int = 128) -> torch.Tensor:
        """(R, R, R) opacities of the field over one voxel of a ``resolution`` grid, [z, y, x]."""
        points = grid_points(self.center, self.size, resolution)
        sigma = torch.cat([self.sigma_and_rgb(chunk)[0] for chunk in points.split(16)])
        return 1.0 - torch.exp(-sigma[..., 0] * (2.0 / resolution))

    @torch.no_grad()
    def colors_at(self, points: torch.Tensor) -> torch.Tensor:
        """(P, 3) colours at world points (P, 3)."""
        return self.sigma_and_rgb(points)[1]

    def state(self) -> dict:
        """The model as a dict of CPU tensors and settings, for checkpoints."""
        return {"kind": "field", "colors": self.colors, "size": self.size,
                "span": asdict(self.span), **self.config,
                **{k: v.detach().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> FieldModel:
        """The model :meth:`state` described, on ``device``."""
        model = cls(state["center"], state["size"], RaySpan(**state["span"]), state["colors"],
                    state["width"], state["depth"], state["harmonics"])
        model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})
        return model.to(device)
