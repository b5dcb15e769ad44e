"""What a resumable run saves besides its weights: every RNG, per rank, and where it stopped.

:class:`Checkpointer` is the one place runs save and reload ``last.pt``.  Saving is collective under
torch.distributed (every rank hands over its RNG states; rank 0 writes), and the write is atomic
(:func:`benchmark.train.checkpoint.save_checkpoint`), so a SIGKILL at any moment leaves either the old
checkpoint or the new one, never half of one.

Loading is safe: the checkpoint's SHA-256 is verified and it is read with ``weights_only=True``, so RNG
states are stored as tensors and plain numbers (:func:`capture_rng`), never as NumPy objects or
tuples that would need a full unpickler.  A checkpoint that fails any check (truncated, tampered, a
pickle that would run code, another format, or plain data that does not fit the run: a key missing, a
tensor of another shape) is not used: a warning says why, the run starts afresh,
and :attr:`Checkpointer.discarded` holds the reason for the run's record.
"""

from __future__ import annotations

import copy
import logging
import random
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch

from benchmark.train.checkpoint import CorruptCheckpoint, load_checkpoint, save_checkpoint
from benchmark.train.distributed import DistContext

log = logging.getLogger(__name__)


def capture_rng(*generators: torch.Generator) -> Dict[str, Any]:
    """Python's, NumPy's and torch's global RNG states (CUDA too), plus any extra generators, as tensors
    and plain numbers so that ``torch.load(weights_only=True)`` reads them back exactly."""
    version, words, gauss = random.getstate()
    key, mt, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {"python": {"version": int(version), "state": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
             "numpy": {"key": str(key), "state": torch.from_numpy(np.asarray(mt, dtype=np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(cached)},
             "torch": torch.get_rng_state(), "generators": [g.get_state() for g in generators]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _decode_rng(state: Dict[str, Any]) -> Dict[str, Any]:
    """The states in the form each library's setter takes; raises on anything malformed."""
    py, npy = state["python"], state["numpy"]
    gauss = py["gauss"]
    return {"python": (int(py["version"]), tuple(int(w) for w in py["state"].tolist()),
                       None if gauss is None else float(gauss)),
            "numpy": (str(npy["key"]), np.asarray(npy["state"].tolist(), dtype=np.uint32), int(npy["pos"]),
                      int(npy["has_gauss"]), float(npy["gauss"])),
            "torch": state["torch"], "cuda": state.get("cuda"), "generators": list(state.get("generators", []))}


def restore_rng(state: Dict[str, Any], *generators: torch.Generator) -> None:
    """Set every RNG from :func:`capture_rng`'s output; all or nothing (a bad state restores none)."""
    before = capture_rng(*generators)
    try:
        _apply(_decode_rng(state), generators)
    except Exception:
        _apply(_decode_rng(before), generators)
        raise


def _apply(s: Dict[str, Any], generators) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if s["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
    for g, gs in zip(generators, s["generators"]):
        g.set_state(gs)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Checkpointer:
    """Saves and loads one run's ``last.pt``; ``path=None`` disables both (tests, the perf benchmark).

    ``discarded``: why an existing checkpoint was not used (None when none was found or it was used).
    """

    def __init__(self, path: Optional[Path], every_steps: int, dist: DistContext = DistContext()) -> None:
        self.path, self.every_steps, self.dist = (Path(path) if path else None), every_steps, dist
        self.saves = 0
        self.discarded: Optional[str] = None

    def record(self) -> Dict[str, Any]:
        """Fields for the run's record: ``checkpoint_discarded`` (the reason, or None); a run whose
        checkpoint was discarded did not resume, whatever the run folder held."""
        return {"checkpoint_discarded": self.discarded, **({"resumed": False} if self.discarded else {})}

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

    def load(self, *generators: torch.Generator,
             apply: Optional[Callable[[Dict[str, Any]], None]] = None) -> Optional[Dict[str, Any]]:
        """The saved state with this rank's RNGs restored, or None when there is no usable checkpoint.

        ``apply(state)`` puts the state into the run's objects, all or nothing (it undoes its own partial work
        when it raises).  An unusable checkpoint (see :func:`benchmark.train.checkpoint.load_checkpoint`), or
        one ``apply`` refuses (a key missing, a tensor of another shape: plain data with a valid checksum that
        is not this run's), is logged, left in place for inspection (the next save replaces it), and reported
        in :attr:`discarded`; every RNG is set back, so the run starts afresh exactly as without it.
        """
        if self.path is None or not self.path.exists():
            return None
        before = capture_rng(*generators)
        try:
            state = load_checkpoint(self.path)
            rngs = state.get("rng_by_rank") or []
            if not isinstance(rngs, list):
                raise CorruptCheckpoint("its RNG states are not a list")
            if self.dist.rank < len(rngs):
                restore_rng(rngs[self.dist.rank], *generators)
            if apply is not None:
                apply(state)
        except (CorruptCheckpoint, KeyError, TypeError, ValueError, AttributeError, RuntimeError, IndexError) as e:
            restore_rng(before, *generators)
            why = str(e) if isinstance(e, CorruptCheckpoint) else \
                f"it does not fit this run ({type(e).__name__}: {str(e).strip()[:200]})"
            self.discarded = f"checkpoint {self.path.name} was not used: {why}; the run started afresh"
            log.warning("%s: %s", self.path, self.discarded)
            return None
        if state.get("world") != self.dist.world:
            log.warning("checkpoint %s was written by %s processes, this run has %d: sample order and "
                        "RNG streams of the remaining steps differ from an uninterrupted run",
                        self.path, state.get("world"), self.dist.world)
        return state

    def load_into(self, target: Any, *generators: torch.Generator) -> Optional[Dict[str, Any]]:
        """:meth:`load` into ``target`` (anything with ``state_dict`` and ``load_state_dict``): a state that does
        not fit leaves ``target`` as it was, and the run starts afresh."""
        if self.path is None or not self.path.exists():
            return None
        fresh = copy.deepcopy(target.state_dict())

        def apply(state: Dict[str, Any]) -> None:
            try:
                target.load_state_dict(state)
            except BaseException:
                target.load_state_dict(fresh)
                raise

        return self.load(*generators, apply=apply)
