"""Samplers that resume mid-epoch: one mixin for the plain and the repeated-augmentation sampler."""

from __future__ import annotations

import itertools
from typing import Iterator


class StartMidEpoch:
    """Mixin for a sampler: the epoch's order from sample ``start`` on (a resumed epoch).  The sampler class
    it is mixed before gives the order; ``epoch_size`` says how many samples a whole epoch has on this rank."""

    start = 0

    @property
    def epoch_size(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return self.epoch_size - self.start
