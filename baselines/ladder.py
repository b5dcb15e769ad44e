"""Size ladders of the 32 px recognition families: one width rule per family, solved per parameter budget.

Issue 10: the ``*_s32`` models of the default preset have unrelated sizes (0.57M to 1.43M params), so a
comparison between them is partly a comparison of sizes.  A *ladder* gives every family a member at each
shared budget in :data:`BUDGETS`, within +-10 % of the budget's params (:data:`TOLERANCE`).

**The rule** (the same for every family; only the base widths and the rounding step differ).  A family
has base stage widths ``base`` (those of its ``*_s32`` model) and a step ``q``.  An integer ``k`` sets the
width multiplier ``m = q * k / base[-1]``; each stage width is ``m * base[i]`` rounded half-up to a
multiple of ``q`` (at least ``q``), so the last stage is exactly ``q * k``.  Depths, heads, ratios and
every other hyperparameter stay those of the ``*_s32`` model.  For a budget ``B``, ``k`` is the integer
that minimises ``|log(params(k) / B)|`` (ties: the smaller ``k``), found by :func:`solve`: params grow
monotonically with ``k``, so a bisection finds the first ``k`` at or above ``B`` and the nearer of it and
its predecessor wins.

========================  =========================  ===  =============================================
family (name prefix)      base widths                 q   why this step
========================  =========================  ===  =============================================
ResNet-like (``resnet``,  (32, 64, 128, 256)          8   divisible by SASE's G and by G = 8 (ablation)
``seresnet``, ``resnext``,
``seresnext``, ``sase``)
Swin (``swin_s32``)       (32,): the embed dim ``e``  4   timm fixes the stages at ``e * 2**i``; a step
                                                          of 8 in ``e`` alone is too coarse for +-10 %
PVT v2 (``pvt_v2_s32``)   (48, 96, 192)               8   divisible by the heads (1, 2, 4)
========================  =========================  ===  =============================================

The solved ``k`` are frozen in :data:`SOLVED` (so importing the registry builds no model); the tests
re-solve them with :func:`solve` and fail if the rule and the table disagree.  The ``sase_resnet_s32``
ablations are members of the ``b1m`` budget by the same rule, each solved on its own params (the dense and
G = 1/2/8 variants change the param count; the others keep the default's ``k``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

#: Shared parameter budgets: tag (used in model names) -> params.
BUDGETS: Dict[str, int] = {"b300k": 300_000, "b1m": 1_000_000, "b3m": 3_000_000}
#: A ladder member is within this relative distance of its budget's params.
TOLERANCE = 0.10
#: The budget at which the SASE ablations are sized.
ABLATION_BUDGET = "b1m"


@dataclass(frozen=True)
class WidthRule:
    """Stage widths from one integer ``k``: ``m = q * k / base[-1]``, width_i = round_q(m * base_i)."""

    base: Tuple[int, ...]
    q: int

    def widths(self, k: int) -> Tuple[int, ...]:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        last = self.base[-1]
        return tuple(self.q * max(1, math.floor(k * b / last + 0.5)) for b in self.base)

    def multiplier(self, k: int) -> float:
        """The width multiplier ``m`` relative to the family's ``*_s32`` model."""
        return self.q * k / self.base[-1]


RESNET_RULE = WidthRule(base=(32, 64, 128, 256), q=8)
SWIN_RULE = WidthRule(base=(32,), q=4)
PVT_RULE = WidthRule(base=(48, 96, 192), q=8)

#: Name prefix of each ladder -> its width rule.  ``sase_resnet_s32`` ablations use ``RESNET_RULE``.
RULES: Dict[str, WidthRule] = {
    "resnet_s32": RESNET_RULE,
    "seresnet_s32": RESNET_RULE,
    "resnext_s32": RESNET_RULE,
    "seresnext_s32": RESNET_RULE,
    "swin_s32": SWIN_RULE,
    "pvt_v2_s32": PVT_RULE,
    "sase_resnet_s32": RESNET_RULE,
}

#: ``k`` per ladder (name prefix) and budget tag, as :func:`solve` finds it (checked by the tests).
#: ``sase_resnet_s32_<ablation>`` keys hold the ablations, at :data:`ABLATION_BUDGET` only.
SOLVED: Dict[str, Dict[str, int]] = {
    "resnet_s32": {"b300k": 16, "b1m": 29, "b3m": 50},
    "seresnet_s32": {"b300k": 15, "b1m": 29, "b3m": 50},
    "resnext_s32": {"b300k": 18, "b1m": 33, "b3m": 57},
    "seresnext_s32": {"b300k": 18, "b1m": 33, "b3m": 57},
    "swin_s32": {"b300k": 6, "b1m": 11, "b3m": 19},
    "pvt_v2_s32": {"b300k": 11, "b1m": 20, "b3m": 35},
    "sase_resnet_s32": {"b300k": 18, "b1m": 33, "b3m": 57},
    "sase_resnet_s32_softmax": {"b1m": 33},
    "sase_resnet_s32_sigmoid": {"b1m": 33},
    "sase_resnet_s32_g1": {"b1m": 29},
    "sase_resnet_s32_g2": {"b1m": 31},
    "sase_resnet_s32_g8": {"b1m": 33},
    "sase_resnet_s32_dense": {"b1m": 28},
    "sase_resnet_s32_d1": {"b1m": 33},
}


def ladder_name(prefix: str, budget: str, ablation: str = "") -> str:
    """``resnet_s32`` + ``b1m`` -> ``resnet_s32_b1m``; an ablation -> ``sase_resnet_s32_b1m_softmax``."""
    return f"{prefix}_{budget}" + (f"_{ablation}" if ablation else "")


def relative_error(params: int, budget: int) -> float:
    """``params / budget - 1``: the member is on budget when its absolute value is <= TOLERANCE."""
    return params / budget - 1.0


def solve(count: Callable[[int], int], budget: int, k_max: int = 256) -> int:
    """The ``k`` in ``1..k_max`` whose ``count(k)`` is nearest ``budget`` in log ratio (ties: smaller k).

    ``count`` must be non-decreasing in ``k`` (wider stages never have fewer params).
    """
    lo, hi = 1, k_max
    if count(hi) < budget:
        return hi
    while lo < hi:  # first k with count(k) >= budget
        mid = (lo + hi) // 2
        if count(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    if lo == 1:
        return 1
    below, above = count(lo - 1), count(lo)
    return lo - 1 if abs(math.log(below / budget)) <= abs(math.log(above / budget)) else lo
