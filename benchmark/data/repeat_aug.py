"""Repeated augmentation (Hoffer et al. 2020; Berman et al. 2019), as DeiT and PVT train: each epoch's
shuffled order holds every image ``repeats`` times in a row, so a batch (or, under DDP, the ranks' batches
together) sees several augmentations of one image.

timm's ``RepeatAugSampler`` (the sampler of DeiT's ``RASampler``) does the work: its order, its split over
ranks and its epoch length, ``len // 256 * 256 / world`` images per rank, the unrepeated epoch cut to whole
256s (sets under 256 images: ``ceil(len / world)``), so an epoch costs what it costs without repeats.  Two
changes, both for a benchmark that seeds its runs and resumes them: the order follows the run's seed as well
as the epoch (timm and DeiT shuffle with the epoch alone, so every seed would see one order), and an epoch can
start at a given sample (resume mid-epoch).
"""

from __future__ import annotations

from typing import Any

from timm.data.distributed_sampler import RepeatAugSampler

from benchmark.data.mid_epoch import StartMidEpoch

SEED_STRIDE = 100_003  # the order of (seed, epoch) is that of epoch seed * SEED_STRIDE + epoch, as TensorBatches


class ResumableRepeatAugSampler(StartMidEpoch, RepeatAugSampler):
    """timm's ``RepeatAugSampler`` over ``dataset`` (anything with a length), seeded per run, resumable."""

    def __init__(self, dataset: Any, num_replicas: int, rank: int, repeats: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, num_repeats=repeats)
        self.seed, self.start = seed, 0
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(self.seed * SEED_STRIDE + epoch)

    @property
    def epoch_size(self) -> int:
        """Samples of a whole epoch on this rank (``len`` is what is left of it after ``start``)."""
        return self.num_selected_samples
