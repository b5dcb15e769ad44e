"""Top-k accuracy, as counts so that it can be summed across batches and ranks."""

from __future__ import annotations

from typing import Sequence, Tuple

import torch


def topk_correct(logits: torch.Tensor, target: torch.Tensor, ks: Sequence[int] = (1, 5)) -> Tuple[int, ...]:
    """Number of samples whose target is among the top-k logits, for each k (k capped at #classes)."""
    maxk = min(max(ks), logits.shape[1])
    pred = logits.topk(maxk, dim=1).indices  # [B, maxk]
    hit = pred.eq(target[:, None])
    return tuple(int(hit[:, : min(k, maxk)].any(dim=1).sum()) for k in ks)
