"""The README headline is rendered from the report's verdicts (scripts/headline.py), deciding presets only."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "headline.py"


def _headline():
    spec = importlib.util.spec_from_file_location("headline", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(preset, claim, verdict, diff=0.5, low=0.2, high=0.8, mdd=0.4):
    return dict(preset=preset, suite="recognition", claim=claim, verdict=verdict, n_a=6, n_b=6, mean_a=88.0,
                mean_b=87.5, diff=diff, diff_ci_low=low, diff_ci_high=high, mdd=mdd)


def test_headline_rows_are_the_deciding_verdicts_with_ci_and_mdd(tmp_path, capsys):
    frame = pd.DataFrame([_row("decide", "A >= B", "reproduced"),
                          _row("default", "A >= C", "not testable: still learning"),
                          _row("decide", "A >= B with a smaller model", "not testable", math.nan, math.nan, math.nan,
                               math.nan),
                          _row("decide-long", "A >= D", "not testable: still learning", 2.8, math.nan, math.nan,
                               math.nan)])
    rows = _headline().rows(frame)
    assert len(rows) == 2
    assert "**reproduced**" in rows[0] and "+0.50 [+0.20, +0.80]" in rows[0] and rows[0].endswith("| 0.40 |")
    assert "`decide-long`" in rows[1] and "+2.80 |" in rows[1] and rows[1].endswith("| - |")
    path = tmp_path / "verdicts.csv"
    frame.to_csv(path, index=False)
    assert _headline().main([str(path)]) == 0 and "| setting | claim |" in capsys.readouterr().out
    assert _headline().main([str(tmp_path / "missing.csv")]) == 2


def test_a_claim_with_no_run_on_one_side_is_left_out():
    frame = pd.DataFrame([{**_row("decide-long", "A > ResNet", "not testable", math.nan, math.nan, math.nan,
                                  math.nan), "n_b": 0},
                          {**_row("decide-long", "A >= Swin", "not testable: still learning"), "n_b": 1}])
    (row,) = _headline().rows(frame)
    assert "A >= Swin" in row and "| 6 / 1 |" in row


def test_a_one_shot_row_names_its_photo():
    frame = pd.DataFrame([{**_row("decide", "SASE-SinGAN SIFID < SinGAN SIFID", "inconclusive"), "suite": "one-shot",
                           "image": "coffee"}, _row("decide", "A > B", "inconclusive")])
    one_shot, recognition = _headline().rows(frame)
    assert one_shot.startswith("| one-shot `decide`, coffee | SASE-SinGAN SIFID")
    assert recognition.startswith("| recognition `decide` | A > B")


def test_small_values_keep_two_significant_digits():
    frame = pd.DataFrame([{**_row("decide", "A < B", "inconclusive", diff=-0.5066, low=-0.8, high=-0.05),
                           "mean_a": 0.00542, "mean_b": 0.512}])
    (row,) = _headline().rows(frame)
    assert "| 0.0054 | 0.51 | -0.51 [-0.80, -0.05] |" in row
