"""What a task is, as data: the one place the harness learns about a suite's task.

A :class:`TaskSpec` is registered beside each task (``benchmark/specs/``).  It says which recipe type and
data kinds the task takes, where its run function lives, which record fields are its metrics (with unit,
direction and format), how a record prints on the console, which report sections and plots it gets,
which published numbers it is compared with, which claims of the paper it tests and which convergence
test (:mod:`benchmark.convergence`) its learning curve must pass before a claim is tested on it.
``cli``, the runner and the report loop over :data:`TASK_SPECS` and never name a suite.

This module is light on purpose: it imports neither torch nor a model, so the report can read specs
while importing nothing that trains or measures.  The run function is named by a dotted path and
imported only when a run starts.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from benchmark.registry import Registry


@dataclass(frozen=True)
class Column:
    """A record field shown in tables: ``label`` carries the unit; ``scale`` multiplies before formatting.

    ``better``: ``"higher"``, ``"lower"`` or ``""`` (a cost or a count, no direction).  ``spread``: show
    mean ± std over seeds (else the mean); ``ci``: add a 95% CI column.  ``valid``: the closed range
    ``(low, high)`` a measured value can take (``math.inf`` for no bound); a record holding a value outside it
    is skipped with one warning when the store is read (:func:`benchmark.results.validate`), so ``top1 = 1e308``
    or ``-5`` never reaches a mean, a std or a verdict.  None: any finite number.
    """

    field: str
    label: str
    digits: int = 2
    scale: float = 1.0
    better: str = ""
    spread: bool = True
    ci: bool = False
    valid: Optional[Tuple[float, float]] = None

    def in_range(self, value: float) -> bool:
        """``value`` within :attr:`valid`, up to a rounding tolerance (1e-9 of the bound's size)."""
        if self.valid is None:
            return True
        low, high = self.valid
        return low - _slack(low) <= value <= high + _slack(high)

    def format(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return f"{float(value) * self.scale:.{self.digits}f}"


# common valid ranges of metric columns (Column.valid)
NON_NEGATIVE = (0.0, math.inf)
PERCENT = (0.0, 100.0)
POSITIVE_COUNT = (1.0, math.inf)
FRECHET = (-1e-3, math.inf)  # a Fréchet distance is >= 0; the matrix square root's rounding can go a hair below


def _slack(bound: float) -> float:
    return 1e-9 * max(1.0, abs(bound)) if math.isfinite(bound) else 0.0


@dataclass(frozen=True)
class Guard:
    """A second condition a claim is decided together with: A's ``metric`` not worse than B's by more than
    ``margin`` (a non-inferiority test, in the metric's units).  The claim is reproduced only when its own test
    and this one both reject; it is not reproduced when either opposite test does (issue 20: SSIM at the
    coarsest scale rewards copying the photo, so the structure claim needs diversity not to drop)."""

    metric: str
    higher_is_better: bool
    margin: float
    label: str = ""  # how the report names it; the metric's name when empty


@dataclass(frozen=True)
class Claim:
    """One claim of the paper as data, tested on the records of its suite.

    ``kind``: ``superiority`` (A better than B: one-sided test) or ``non-inferiority`` (A not worse than
    B by more than ``margin``, in the metric's units: one-sided test against the margin).
    ``fewer_params``: the claim's size premise ("with significantly smaller models"), checked on the
    models actually compared; a premise the compared models do not meet makes the claim *not testable*.
    ``matched_size``: compare models within +-10% params (the default); a claim about the authors' own
    architecture against its published baseline (SASE-SinGAN vs SinGAN) sets it False and shows the sizes.
    ``guard``: a :class:`Guard` the claim is decided together with (structure only with diversity).
    """

    name: str
    family_a: str  # the paper's model
    family_b: str  # the baseline
    metric: str  # a per-seed record field
    higher_is_better: bool
    kind: str = "superiority"
    margin: float = 0.0
    fewer_params: bool = False
    params_field: str = "params"
    matched_size: bool = True  # False: the claim is about the authors' model as published, whatever its size
    guard: Optional[Guard] = None  # decided together with a non-inferiority condition on another metric


@dataclass(frozen=True)
class Option:
    """A command-line option a task adds to ``run`` (e.g. synthesis's ``--inception-weights``)."""

    flag: str
    dest: str
    help: str
    is_file: bool = False  # the value must name an existing file
    measures: bool = True  # False: an output option (where to write something); not part of a run's identity


@dataclass(frozen=True)
class TaskSpec:
    """Everything the harness needs to know about one task, besides the task function itself."""

    name: str
    title: str
    recipe_type: type
    data_kinds: Tuple[str, ...]
    run: str  # "package.module:function", imported when a run starts
    columns: Tuple[Column, ...]  # the report table's metric columns, in order
    console: Callable[[Mapping[str, Any]], str]  # one line for a completed record
    quality: str  # the headline metric field (plots, console, curves)
    split_by: Tuple[str, ...] = ("dataset",)  # one table per combination of these record fields
    identity: Tuple[str, ...] = ("device", "precision")  # a table row is a model under these
    plots: Tuple[str, ...] = ()  # names in benchmark.report.plots.SECTION_PLOTS
    notes: str = ""  # shown under each table; ``{field}`` is filled with the values found in the rows
    claims: Tuple[Claim, ...] = ()
    published: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None  # row -> published dataset key
    not_comparable: Optional[Callable[[Mapping[str, Any]], str]] = None  # row -> why not compared
    published_metrics: Mapping[str, Tuple[str, float]] = field(default_factory=dict)  # pub metric -> (field, scale)
    caveat: Optional[Callable[[Mapping[str, Any]], str]] = None  # split values -> a warning above the table
    options: Tuple[Option, ...] = ()
    units: Optional[str] = None  # "module:function" (preset, data_path) -> the data of each run; None: one
    profile: Optional[str] = None  # "module:function" for `profile` (name, img_size, device, train, spec) -> row
    estimate: Optional[str] = None  # "module:function" (plan -> {model: seconds} or None), printed before a suite runs
    palette: Mapping[str, str] = field(default_factory=dict)  # family -> colour
    # a benchmark.convergence.ConvergenceTest (record -> Convergence, plus how to read the curve): held
    # directly, not by dotted path, because that module is pure Python and as light as the specs
    convergence: Optional[Any] = None

    def run_fn(self) -> Callable[..., Dict[str, Any]]:
        module, _, name = self.run.partition(":")
        return getattr(importlib.import_module(module), name)

    def estimate_fn(self) -> Optional[Callable[..., Optional[float]]]:
        if not self.estimate:
            return None
        module, _, name = self.estimate.partition(":")
        return getattr(importlib.import_module(module), name)

    def column(self, name: str) -> Optional[Column]:
        return next((c for c in self.columns if c.field == name), None)


TASK_SPECS: Registry[TaskSpec] = Registry("task")


def register_spec(spec: TaskSpec) -> TaskSpec:
    return TASK_SPECS.add(spec.name, spec)


def load_specs() -> Registry[TaskSpec]:
    """The registry with the built-in specs registered (importing them registers them once)."""
    import benchmark.specs  # noqa: F401

    return TASK_SPECS
