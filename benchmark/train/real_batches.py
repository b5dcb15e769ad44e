"""Batches of real images for GAN training, served the way the reference loader serves them.

FastGAN's ``train.py`` (and the authors' SLIM fork) read the few-shot folder through an infinite sampler: a
random permutation of the set, walked through and replaced by a fresh one when it runs out, so every image
is seen once per epoch and a batch may straddle two epochs; each image is flipped left-right with
probability 0.5 (``RandomHorizontalFlip``).  Here both draws come from the run's ``torch.Generator`` (the
reference uses NumPy's global RNG in loader workers), so a run is reproducible from its seed, and the
position in the current permutation is :class:`SamplerState`, saved in checkpoints, so a resumed run
continues the same epoch.

``sampling="replacement"`` draws each batch uniformly with replacement (this harness's earlier behaviour);
``hflip=False`` turns the flip off.  Images come in as uint8 ``[N, C, H, W]`` and leave as float in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch


@dataclass
class SamplerState:
    """The current permutation of the real set and how far into it the sampler is."""

    order: Optional[torch.Tensor] = None
    pos: int = 0

    def state_dict(self) -> Dict[str, Any]:
        return {"order": self.order, "pos": self.pos}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.order, self.pos = state["order"], int(state["pos"])


def next_indices(state: SamplerState, n: int, batch: int, sampling: str, g: torch.Generator) -> torch.Tensor:
    """``batch`` indices into a set of ``n`` images: the next ones of the epoch's permutation, or uniform draws."""
    if sampling == "replacement":
        return torch.randint(0, n, (batch,), generator=g)
    parts, need = [], batch
    while need > 0:
        if state.order is None or state.pos >= len(state.order):
            state.order, state.pos = torch.randperm(n, generator=g), 0
        take = state.order[state.pos: state.pos + need]
        state.pos += len(take)
        need -= len(take)
        parts.append(take)
    return torch.cat(parts)


def real_batch(images: torch.Tensor, state: SamplerState, batch: int, sampling: str, hflip: bool,
               g: torch.Generator) -> torch.Tensor:
    """The next training batch of ``images`` (uint8 [N, C, H, W]), flipped at random, as float in [-1, 1]."""
    x = images[next_indices(state, len(images), batch, sampling, g)]
    if hflip:
        flip = torch.rand(batch, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return x.float().div(127.5).sub(1.0)
