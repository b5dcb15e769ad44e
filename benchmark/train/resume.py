"""What a resumable run saves besides its weights: every RNG, per rank, and where it stopped.

:class:`Checkpointer` is the one place runs save and reload ``last.pt``.  Saving is collective under
torch.distributed (every rank hands over its RNG states; rank 0 writes), and the write is atomic
(:func:`benchmark.train.checkpoint.save_checkpoint`), so a SIGKILL at any moment leaves either the old
checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
import torch

from benchmark.train.checkpoint import load_checkpoint, save_checkpoint
from benchmark.train.distributed import DistContext

log = logging.getLogger(__name__)


def capture_rng(*generators: torch.Generator) -> Dict[str, Any]:
    """Python's, NumPy's and torch's global RNG states (CUDA too), plus any extra generators."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
             "generators": [g.get_state() for g in generators]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: Dict[str, Any], *generators: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for g, s in zip(generators, state.get("generators", [])):
        g.set_state(s)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Checkpointer:
    """Saves and loads one run's ``last.pt``; ``path=None`` disables both (tests, the perf benchmark)."""

    def __init__(self, path: Optional[Path], every_steps: int, dist: DistContext = DistContext()) -> None:
        self.path, self.every_steps, self.dist = (Path(path) if path else None), every_steps, dist
        self.saves = 0

    def due(self, global_step: int) -> bool:
        return self.path is not None and self.every_steps > 0 and global_step % self.every_steps == 0

    def save(self, state: Dict[str, Any], *generators: torch.Generator) -> None:
        """Collective: gathers every rank's RNG states, then rank 0 writes ``state`` plus them."""
        if self.path is None:
            return
        rngs = self.dist.all_gather_object(capture_rng(*generators))
        if self.dist.is_main:
            save_checkpoint(self.path, {**state, "rng_by_rank": rngs, "world": self.dist.world})
            self.saves += 1
        self.dist.barrier()

    def load(self, *generators: torch.Generator) -> Optional[Dict[str, Any]]:
        """The saved state with this rank's RNGs restored, or None when there is no checkpoint."""
        if self.path is None or not self.path.exists():
            return None
        state = load_checkpoint(self.path)
        rngs = state.get("rng_by_rank") or []
        if state.get("world") != self.dist.world:
            log.warning("checkpoint %s was written by %s processes, this run has %d: sample order and "
                        "RNG streams of the remaining steps differ from an uninterrupted run",
                        self.path, state.get("world"), self.dist.world)
        if self.dist.rank < len(rngs):
            restore_rng(rngs[self.dist.rank], *generators)
        return state
