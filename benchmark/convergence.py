"""Has a run finished learning?  A convergence test per task, on the learning curve its record carries.

Pure Python (no torch, no numpy): the specs, the tasks and the report import it.  Each rule takes a record
(a dict with ``history``) and returns a :class:`Convergence`; :func:`judge` writes the result into a record
as flat fields (``converged``, ``convergence_figure``, ``convergence_what``, ``convergence_rule``), so the
records frame, the tables and the verdicts read them as plain columns.

The rules (thresholds are the constants below; they are a first choice, to be tuned by measurement):

* **recognition** (``history``: rows with ``epoch`` and ``top1``): the top-1 gain over the last quarter
  of the epochs, estimated as the least-squares slope of top-1 against epoch over the quarter's points (the
  epoch before the quarter included) times the quarter's length in epochs.  With two points that is the
  plain difference; with more, one noisy epoch moves it less than an endpoint difference would.  Converged
  when the gain is below :data:`TOP1_GAIN_LIMIT` points.  Fewer than :data:`MIN_EPOCHS` epochs: not judged.
* **synthesis** (``history``: rows with ``iteration`` and ``fid``): the FID's trend over the evaluations of
  the second half of training (iteration >= half the last one), as the least-squares slope times the
  window's span, relative to the window's mean FID.  Converged when the FID fell by less than
  :data:`FID_FALL_LIMIT` of its level over that window (a rising FID has stopped improving: the best
  checkpoint is behind it) and the EMA generator has warmed up: the record says an EMA warm-up or bias
  correction was used (``ema_warmup``), or the initial weights' share ``ema_decay ** iterations`` is below
  :data:`EMA_RESIDUE_LIMIT`.  Fewer than :data:`MIN_FID_WINDOW` evaluations in the window: not judged.
  Why a trend and not the last two evaluations: measured on the committed `default` runs (1,000 iterations,
  fixed latents), re-drawing only the evaluation's latents moves one checkpoint's FID by 3-5% (sd; 10.0-11.4
  for one FastGAN), and the EMA generator's FID wobbles 10-20% from one evaluation to the next, so a 5% limit
  on the last step failed converged runs about half the time.  A trend over n equally spaced points has a
  standard error of about sigma * sqrt(12 (n-1) / (n (n+1))): 1.1 sigma for the deciding preset's 7 points
  (iterations 3,000-6,000), about 11% at sigma = 10%; the 15% limit fails a flat run about 1 time in 10
  there, and flags a FID still falling by a quarter or more of its level over the window nearly always.
  Checked on the deciding runs' curves (6,000 iterations, seeds 0-4): around their trend the FIDs scatter by
  1-7% (sd), less than the 10% above, so the trend's standard error there is 1-8%; FastGAN's trends were
  -11% to +12% (most flat or drifting up past their best from 2,000-3,000 iterations on), SASE-GAN's -15% to
  +7%.  The -15% (10.6 -> 9.2) is
  a real, slow fall, at the limit: the limit bounds how much a run may still be improving, not whether it
  improves at all, and the report's learning-curve plot shows it (the rule is re-applied to every record at
  load, so a changed limit applies to the committed records).
* **one-shot** (``history``: one entry per scale, each with ``curve``: sampled points with ``iter`` and
  ``reconstruction``): for each scale, the points of a window at the end of its iterations are split into
  two halves by order; the scale is flat when the mean reconstruction loss fell by less than
  :data:`RECON_CHANGE_LIMIT` (relative) or rose (a rising loss has stopped improving, as a rising FID has
  above), or when the reconstruction itself moved by less than
  :data:`RECON_RMSE_FLOOR` (its RMSE, ``sqrt(loss / alpha)`` in the image's [-1, 1] units: a quarter of one
  8-bit level of the photo; for losses near zero, where a relative change says nothing visible).  Until
  2026-12-02 that floor was 1e-4 in loss units; it became the RMSE floor when SASE-SinGAN on coffee (seed 1 of
  the deciding preset) failed the relative test at scale 2 by 11.7% of a loss of 0.004, a change of its
  reconstruction of 0.15 of one 8-bit level.  On the first four deciding runs (coffee) the scales above 0
  moved by 0.00-0.26 levels over their window, scale 0 by 0.6-1.7 levels (judged by the relative test:
  2.5-7%); a 20% drift at the finest scale at a fixed learning rate (below) is about 0.55 levels there, above
  it.  Until the evening of 2026-12-02 a rise of 10% failed too; it became one-sided when SinGAN and
  SASE-SinGAN on chelsea, seed 2, failed at scale 0 (the scale the two models share, the same network
  trained on the same draws): 0.486 -> 0.543, +11.8%, where that scale's sampled points scatter by 10% of
  their level, so the difference of two 3-point means is 1.6 of its standard errors: noise, not learning.
  Over the first 13 deciding runs (51 scales) the window's halves moved -11.7% to +11.8%, at
  standard errors (0.1-6.6); no fall passes 10% except the one the floor decides.  Converged when every scale is
  flat; the figure is the worst scale's relative change.  The window is
  the last :data:`WINDOW` of the iterations, unless the recipe
  steps the learning rate down inside it (SinGAN: x0.1 at 80%, ``lr_decay_at``): then it is the second
  half of the iterations after the step.  Measured on SinGAN at 2,000 iterations (coffee, 64 px): the step
  drops the reconstruction loss 2-3x within 40 iterations (scale 0: 0.145 -> 0.084), so a window across
  it judges the schedule, not the model; after 1,800 iterations the loss moves within its noise (6%).
  A scale trained for fewer than :data:`MIN_ITERS_PER_SCALE` iterations (SinGAN's published schedule) is
  not judged converged, whatever its curve: at a fixed learning rate SinGAN's reconstruction loss keeps
  drifting (measured: 12-23% over iterations 800-1,600 of the 2,000-iteration run, with +-15% noise between
  sampled iterations), so flatness alone cannot tell a trained pyramid from a short run whose last few
  iterations ran at the stepped-down rate: the 80-iteration demo passes the flatness window (3-8%) while
  its pyramids are coloured noise.

The figure is the number behind the decision, in the rule's units (top-1 points, a relative FID change,
a relative loss change); NaN when there is none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

TOP1_GAIN_LIMIT = 0.3  # top-1 points over the last quarter of the epochs
MIN_EPOCHS = 4
FID_FALL_LIMIT = 0.15  # the FID's fall over the second half of training (trend x span), relative to its mean
EMA_RESIDUE_LIMIT = 0.01  # ema_decay ** iterations: the initial weights' share in the EMA generator
MIN_FID_WINDOW = 4  # evaluations in the second half of training
WINDOW = 0.2  # the last 20% of each scale's iterations
RECON_CHANGE_LIMIT = 0.10  # relative change of the mean reconstruction loss between the window's halves
RECON_RMSE_FLOOR = 0.5 / 255  # a reconstruction RMSE change below this (a quarter of one 8-bit level in [-1, 1]
# units, where one level is 2/255) leaves a scale flat whatever its loss's relative change
SINGAN_ALPHA = 10.0  # the reconstruction weight when a record names none (SinGAN's): loss = alpha * MSE
MIN_WINDOW_POINTS = 4
MIN_ITERS_PER_SCALE = 2000  # SinGAN's published schedule: shorter one-shot runs are not judged converged

Points = List[Tuple[float, float]]


@dataclass(frozen=True)
class Convergence:
    """One run's convergence test: the decision, the number behind it, a sentence with it, the rule."""

    converged: bool
    figure: float
    what: str
    rule: str


@dataclass(frozen=True)
class ConvergenceTest:
    """A task's convergence test as a spec declares it: the rule, and how to read its learning curve."""

    rule: Callable[[Mapping[str, Any]], Convergence]  # record -> decision
    points: Callable[[Sequence[Mapping[str, Any]]], Points]  # history -> (x, y) for the plot
    x_label: str
    y_label: str
    description: str

    def __call__(self, record: Mapping[str, Any]) -> Convergence:
        return self.rule(record)


def _rows(history: Any, x: str, y: str) -> Points:
    rows = [(float(h[x]), float(h[y])) for h in history or [] if isinstance(h, Mapping) and x in h and y in h]
    return sorted(rows)


def slope(points: Points) -> float:
    """The least-squares slope of y on x (0 for fewer than 2 distinct x)."""
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx else 0.0


# --- recognition -------------------------------------------------------------------------------------------

RECOGNITION_RULE = (f"top-1 gain over the last quarter of the epochs (least-squares slope x span) < "
                    f"{TOP1_GAIN_LIMIT} points; at least {MIN_EPOCHS} epochs")


def recognition_points(history: Sequence[Mapping[str, Any]]) -> Points:
    return _rows(history, "epoch", "top1")


def recognition(record: Mapping[str, Any]) -> Convergence:
    pts = recognition_points(record.get("history"))
    n = len(pts)
    if n < MIN_EPOCHS:
        last = pts[-1][1] - pts[-2][1] if n >= 2 else math.nan
        rose = f": top-1 rose {last:.2f} points in the last epoch" if n >= 2 else ""
        return Convergence(False, last, f"too few epochs to judge ({n}; at least {MIN_EPOCHS}){rose}",
                           RECOGNITION_RULE)
    quarter = pts[-(math.ceil(n / 4) + 1):]
    gain = slope(quarter) * (quarter[-1][0] - quarter[0][0])
    what = (f"top-1 {'rose' if gain >= 0 else 'fell'} {abs(gain):.2f} points over the last quarter of training "
            f"(epochs {quarter[0][0]:g}-{quarter[-1][0]:g}); limit {TOP1_GAIN_LIMIT}")
    return Convergence(gain < TOP1_GAIN_LIMIT, gain, what, RECOGNITION_RULE)


# --- synthesis ---------------------------------------------------------------------------------------------

SYNTHESIS_RULE = (f"FID fell < {FID_FALL_LIMIT:.0%} of its level over the second half of training (least-squares "
                  f"trend x span over the evaluations there, at least {MIN_FID_WINDOW}) and the EMA warmed up (a "
                  f"recorded warm-up, or ema_decay^iterations < {EMA_RESIDUE_LIMIT})")


def synthesis_points(history: Sequence[Mapping[str, Any]]) -> Points:
    return _rows(history, "iteration", "fid")


def ema_state(record: Mapping[str, Any]) -> Tuple[bool, str]:
    """Whether the EMA generator has forgotten its initial weights, and why (or why not)."""
    warmup = record.get("ema_warmup")
    if warmup and str(warmup).lower() not in ("false", "none", "off", "0", "no"):
        return True, f"EMA warm-up: {warmup}"
    decay, iters = record.get("ema_decay"), record.get("iterations")
    if not isinstance(decay, (int, float)) or not isinstance(iters, (int, float)):
        return False, "EMA decay or iterations not recorded"
    residue = float(decay) ** float(iters)
    return residue < EMA_RESIDUE_LIMIT, f"EMA residue {decay:g}^{iters:g} = {residue:.3g} (limit {EMA_RESIDUE_LIMIT})"


def synthesis(record: Mapping[str, Any]) -> Convergence:
    pts = synthesis_points(record.get("history"))
    warm, ema = ema_state(record)
    window = [p for p in pts if pts and p[0] >= pts[-1][0] / 2]
    if len(window) < MIN_FID_WINDOW:
        last = (pts[-1][1] - pts[-2][1]) / pts[-2][1] if len(pts) >= 2 and pts[-2][1] > 0 else math.nan
        step = f"; FID {'fell' if last < 0 else 'rose'} {abs(last):.1%} at the last evaluation" if math.isfinite(last) else ""
        return Convergence(False, math.nan, f"too few FID evaluations in the second half of training to judge "
                                            f"({len(window)}; at least {MIN_FID_WINDOW}){step}; {ema}", SYNTHESIS_RULE)
    mean = sum(p[1] for p in window) / len(window)
    change = slope(window) * (window[-1][0] - window[0][0]) / mean if mean > 0 else math.nan
    what = (f"FID {'fell' if change < 0 else 'rose'} {abs(change):.1%} of its level over iterations "
            f"{window[0][0]:g}-{window[-1][0]:g} ({len(window)} evaluations, trend; mean {mean:.3g}); limit "
            f"{FID_FALL_LIMIT:.0%} fall; {ema}")
    return Convergence(change > -FID_FALL_LIMIT and warm, change, what, SYNTHESIS_RULE)


# --- one-shot ----------------------------------------------------------------------------------------------

ONE_SHOT_RULE = (f"at least {MIN_ITERS_PER_SCALE:,} iterations per scale (SinGAN's schedule), and every scale's "
                 f"reconstruction loss flat over its last {WINDOW:.0%} of iterations (over the second half of the "
                 "iterations after a learning-rate step inside them): the mean of the window's second half is "
                 f"not below the first half's by {RECON_CHANGE_LIMIT:.0%} or more (a rise has stopped improving), "
                 f"or the reconstruction's RMSE moved < a quarter of an 8-bit level ({RECON_RMSE_FLOOR:.2g} in "
                 "[-1, 1] units)")


def scale_points(entry: Mapping[str, Any]) -> Points:
    return _rows(entry.get("curve") if isinstance(entry, Mapping) else None, "iter", "reconstruction")


def one_shot_points(history: Sequence[Mapping[str, Any]]) -> Points:
    """The finest scale's reconstruction loss over its iterations."""
    return scale_points(history[-1]) if history else []


def window_start(record: Mapping[str, Any]) -> float:
    """Where the one-shot window starts, as a fraction of a scale's iterations: ``1 - WINDOW``, or, when the
    record's recipe steps the learning rate at a fraction ``d`` inside that window, ``(1 + d) / 2``.  ``d`` is
    the record's ``lr_decay_at``, else its stored recipe's."""
    decay = record.get("lr_decay_at", _recipe(record).get("lr_decay_at"))
    if isinstance(decay, (int, float)) and 1 - WINDOW <= decay < 1:
        return (1 + float(decay)) / 2
    return 1 - WINDOW


def _recipe(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The recipe a record stores (``config.preset.recipe``), or ``{}``."""
    config = record.get("config")
    preset = config.get("preset") if isinstance(config, Mapping) else None
    recipe = preset.get("recipe") if isinstance(preset, Mapping) else None
    return recipe if isinstance(recipe, Mapping) else {}


def _rmse_change(m1: float, m2: float, alpha: float) -> float:
    """How far the reconstruction's RMSE moved between two mean losses ``alpha * MSE``."""
    return abs(math.sqrt(max(m2, 0.0) / alpha) - math.sqrt(max(m1, 0.0) / alpha))


def _window(pts: Points, start: float) -> Tuple[Points, Points]:
    window = [p for p in pts if p[0] >= pts[-1][0] * start]
    half = len(window) // 2
    return window[:half], window[half:]


def _scale(pts: Points, start: float = 1 - WINDOW, alpha: float = SINGAN_ALPHA) -> Tuple[bool, float, str]:
    """(flat, relative change, sentence) for one scale's curve, judged from ``start`` (a fraction) on."""
    first, second = _window(pts, start)
    where = f"its last {1 - start:.0%}"
    if len(first) + len(second) < MIN_WINDOW_POINTS:
        return False, math.inf, f"{len(first) + len(second)} points in {where} (at least {MIN_WINDOW_POINTS})"
    m1, m2 = sum(p[1] for p in first) / len(first), sum(p[1] for p in second) / len(second)
    rel = abs(m2 - m1) / abs(m1) if m1 else (0.0 if m1 == m2 else math.inf)
    moved = _rmse_change(m1, m2, alpha)
    flat = m2 >= m1 or rel < RECON_CHANGE_LIMIT or moved < RECON_RMSE_FLOOR  # a rise: no longer improving
    change = "rose" if m2 > m1 else "fell"
    return flat, rel, (f"reconstruction loss {change} {rel:.1%} within {where} (iterations "
                       f"{first[0][0]:g}-{second[-1][0]:g}: {m1:.3g} -> {m2:.3g}; RMSE moved "
                       f"{moved * 255 / 2:.2f} of an 8-bit level)")


def one_shot(record: Mapping[str, Any]) -> Convergence:
    history = record.get("history") or []
    curves = [scale_points(e) for e in history]
    if not curves or not all(curves):
        return Convergence(False, math.nan, "no learning curve recorded", ONE_SHOT_RULE)
    start, alpha = window_start(record), float(_recipe(record).get("alpha") or SINGAN_ALPHA)
    judged = [(*_scale(c, start, alpha), k) for k, c in enumerate(curves)]
    flat, rel, text, k = max(judged, key=lambda j: (not j[0], j[1]))
    limit = f"limit: a {RECON_CHANGE_LIMIT:.0%} fall, or an RMSE move under a quarter of an 8-bit level"
    what = f"scale {k} of {len(curves)}: {text}; {limit}"
    iters = min(c[-1][0] for c in curves)
    if iters < MIN_ITERS_PER_SCALE:
        return Convergence(False, rel, f"too short to judge: {iters:,.0f} iterations per scale, under SinGAN's "
                                       f"{MIN_ITERS_PER_SCALE:,} ({what})", ONE_SHOT_RULE)
    return Convergence(all(j[0] for j in judged), rel, what, ONE_SHOT_RULE)


# --- the tests the specs declare, and the record fields ----------------------------------------------------

RECOGNITION = ConvergenceTest(recognition, recognition_points, "epoch", "top-1 (%)", RECOGNITION_RULE)
SYNTHESIS = ConvergenceTest(synthesis, synthesis_points, "training iteration", "FID", SYNTHESIS_RULE)
ONE_SHOT = ConvergenceTest(one_shot, one_shot_points, "iteration (finest scale)",
                           "reconstruction loss (alpha x MSE; SinGAN: 10 x MSE)",
                           ONE_SHOT_RULE)


def as_fields(result: Convergence) -> Dict[str, Any]:
    """The record fields of a result (a NaN or infinite figure is stored as None: JSON has no NaN)."""
    figure = result.figure if math.isfinite(result.figure) else None
    return {"converged": bool(result.converged), "convergence_figure": figure,
            "convergence_what": result.what, "convergence_rule": result.rule}


BY_TASK = {"recognition": RECOGNITION, "synthesis": SYNTHESIS, "one-shot": ONE_SHOT}  # the specs declare these


def rejudge(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A completed record's convergence fields under today's rule (the record stores what the rule said when
    it was written; the reader shows the current rule, so a rule tuned later applies to every record).  Empty
    for records that are not completed, carry no history or belong to a task without a test here."""
    test = BY_TASK.get(str(record.get("task")))
    if test is None or record.get("status") != "completed" or not record.get("history"):
        return {}
    return as_fields(test(record))


def judge(task: str, record: Mapping[str, Any]) -> Dict[str, Any]:
    """The convergence fields of ``record`` under the test ``task``'s spec declares (not converged, with
    the reason, when it declares none)."""
    from benchmark.spec import load_specs

    test = load_specs().get(task).convergence
    if test is None:
        return as_fields(Convergence(False, math.nan, "no convergence test declared for this task", "-"))
    return as_fields(test(record))
