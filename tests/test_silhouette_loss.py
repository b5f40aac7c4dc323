"""The soft-IoU silhouette loss: values on hand-made masks, empty images, gradients, errors."""

from __future__ import annotations

import pytest
import torch

from r3d.errors import InputError
from r3d.loss import silhouette_iou_loss


def test_values_on_hand_made_masks():
    mask = torch.zeros(1, 4, 4)
    mask[0, :2, :2] = 1.0  # 4 pixels
    assert float(silhouette_iou_loss(mask, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(silhouette_iou_loss(mask, mask.flip(1).flip(2))) == pytest.approx(1.0)
    half = mask.clone()
    half[0, 1, :2] = 0.0  # 2 of the 4 pixels: IoU 1/2
    assert float(silhouette_iou_loss(half, mask)) == pytest.approx(0.5, abs=1e-6)
    soft = 0.5 * mask  # sum(a m) = 2, sum(a + m - a m) = 2 + 4 - 2 = 4
    assert float(silhouette_iou_loss(soft, mask)) == pytest.approx(0.5, abs=1e-6)


def test_mean_over_images_and_empty_pairs():
    """Each image counts once whatever its object's size; an empty render of an empty mask
    is perfect."""
    big, small = torch.zeros(2, 8, 8), torch.zeros(2, 8, 8)
    big[0] = 1.0
    small[0, 0, 0] = 1.0
    assert float(silhouette_iou_loss(torch.stack([big[0], small[1]]),
                                     torch.stack([small[0], small[1]]))) \
        == pytest.approx((1 - 1 / 64) / 2, abs=1e-6)


def test_gradcheck():
    torch.manual_seed(0)
    alpha = torch.rand(3, 5, 6, dtype=torch.float64, requires_grad=True)
    masks = (torch.rand(3, 5, 6, dtype=torch.float64) > 0.5).double()
    assert torch.autograd.gradcheck(lambda a: silhouette_iou_loss(a, masks), (alpha,))


@pytest.mark.parametrize("a, m", [((2, 4, 4), (2, 4, 5)), ((4, 4), (4, 4))])
def test_shape_errors(a, m):
    with pytest.raises(InputError, match="silhouette_iou_loss: alpha .* must be the same"):
        silhouette_iou_loss(torch.rand(*a), torch.rand(*m))
