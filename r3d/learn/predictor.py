"""Single-view shape prediction: an image encoder and a mesh or point head, predicting in the
input camera's view frame and returning shapes in the world frame.

The network sees one image and knows its camera (as in Mesh R-CNN): the start sphere sits at
the world origin seen from that camera (view-frame centre ``T``), the mesh head samples image
features where vertices project, and predictions are mapped back to the world frame with
``X_world = (X_view - T) R^T`` so that they can be rendered from other views and compared with
the ground truth. With ``colors`` the heads also predict colours (vertex colours of the last
mesh, or point colours) for RGB supervision.
"""

from __future__ import annotations

import torch
from torch import nn

from r3d.learn.recipe import NetworkSpec, TrainRecipe
from r3d.models import ImageEncoder, MeshHead, PointsHead
from r3d.renderer import FoVPerspectiveCameras
from r3d.structures import Meshes, Pointclouds

__all__ = ["ShapePredictor", "to_world"]


def to_world(points: torch.Tensor, R: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """View-frame points (N, P, 3) of cameras R (N, 3, 3), T (N, 3) in the world frame."""
    return (points - T[:, None]) @ R.transpose(1, 2)


class ShapePredictor(nn.Module):
    """``forward(images, R, T, fov)``: images (N, H, W, 3) in [0, 1] (the object over black),
    their cameras (FoVPerspectiveCameras: R (N, 3, 3), T (N, 3), fov (N,) degrees); returns
    the Meshes of every stage (model "mesh"; the last with ``TexturesVertex`` colours when
    ``colors``) or Pointclouds of P points each (model "points"; features: (P, 3) colours
    when ``colors``), in the world frame."""

    def __init__(self, model: str, net: NetworkSpec, colors: bool = False) -> None:
        super().__init__()
        self.model = model
        self.encoder = ImageEncoder(3, net.widths)
        if model == "mesh":
            self.head = MeshHead(self.encoder.feature_dims, net.hidden, net.stages,
                                 level=net.level, radius=net.radius, colors=colors)
        else:
            self.head = PointsHead(net.widths[-1], net.points, extent=1.0, colors=colors)

    @classmethod
    def for_recipe(cls, recipe: TrainRecipe) -> ShapePredictor:
        """The predictor a training recipe trains: colours when it has an RGB loss."""
        return cls(recipe.model, recipe.network, colors=recipe.losses.rgb > 0)

    def forward(self, images: torch.Tensor, R: torch.Tensor, T: torch.Tensor,
                fov: torch.Tensor) -> list[Meshes] | Pointclouds:
        maps, pooled = self.encoder(images.permute(0, 3, 1, 2))
        if self.model == "points":
            points, colours = self.head(pooled)
            return Pointclouds(to_world(T[:, None] + points, R, T), features=colours)
        n = images.shape[0]
        eye = torch.eye(3, device=images.device).expand(n, 3, 3)
        view_cameras = FoVPerspectiveCameras(fov=fov, R=eye, T=torch.zeros_like(T),
                                             device=images.device)
        stages = self.head(maps, view_cameras, tuple(images.shape[1:3]), centres=T)
        return [m.update_padded(to_world(m.verts_padded(), R, T)) for m in stages]
