"""The discriminator's reconstruction loss: LPIPS-VGG when it can run here, else L1.

FastGAN trains D's decoders with LPIPS (VGG16 backbone).  LPIPS needs the ``lpips``
package and torchvision's VGG16 ImageNet weights, which cannot be downloaded on an
offline machine.  ``auto`` uses LPIPS when both are already present and L1 (mean
absolute error in [-1, 1] pixel space) otherwise; the record names which one ran.
LPIPS expects 3 channels: grey images are repeated.

Both return one value per image, shape [B]: the reference sums them over the batch
(``percept(rec, target).sum()``), and the training loop applies the recipe's
``recon_reduction`` (sum, as the reference, or mean).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Tuple

import torch

from benchmark.errors import UserError

log = logging.getLogger(__name__)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _vgg_weights_present() -> bool:
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    return any(hub.glob("vgg16-*.pth"))


def _lpips(device: torch.device) -> LossFn:
    import lpips  # optional dependency

    net = lpips.LPIPS(net="vgg", verbose=False).to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)

    def loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape[1] == 1:
            a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
        return net(a, b).flatten()

    return loss


def build_recon_loss(kind: str, device: torch.device) -> Tuple[LossFn, str]:
    """``(loss_fn, name)`` for ``kind`` in auto | lpips | l1; ``loss_fn(a, b)`` gives one value per image."""
    if kind not in ("auto", "lpips", "l1"):
        raise UserError(f"unknown recon_loss {kind!r}; choose auto, lpips or l1")
    if kind in ("auto", "lpips"):
        try:
            if not _vgg_weights_present():
                raise FileNotFoundError("torchvision VGG16 weights are not in the torch hub cache")
            return _lpips(device), "lpips-vgg"
        except (ImportError, OSError, RuntimeError) as e:
            if kind == "lpips":
                raise UserError(f"recon_loss=lpips cannot run here ({e}); install 'lpips' and put "
                                "vgg16 weights in the torch hub cache, or use recon_loss=l1") from None
            log.info("LPIPS unavailable (%s): the reconstruction loss falls back to L1", e)
    return l1_per_image, "l1"


def l1_per_image(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute error of each image pair: [B, C, H, W] x 2 -> [B]."""
    return (a - b).abs().flatten(1).mean(dim=1)
