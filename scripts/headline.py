"""Print the README's headline table: the verdicts of the deciding presets, from a rendered report.

    python scripts/headline.py                       # results/reference/report/verdicts.csv
    python scripts/headline.py path/to/verdicts.csv

One markdown row per claim of each deciding setting (one-shot: per photo): the verdict, the seeds on each side,
the means, the difference with its Welch 95% CI, and the smallest detectable difference (MDD) at the first Holm
step.  The
README's headline is pasted from this output, so its figures are the report's, never retyped.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.report.render import DECIDING_PRESETS  # noqa: E402
from benchmark.report.verdicts import one_sided  # noqa: E402

HEADER = ("| setting | claim | verdict | seeds (A / B) | mean A | mean B | A - B [95% CI] | MDD |\n"
          "|---|---|---|---|---|---|---|---|")


def _num(value: float, sign: str = "") -> str:
    """Two decimals, or two significant digits below 0.1 (a SIFID of 0.0054 is not 0.01)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:{sign}.2g}" if 0 < abs(value) < 0.1 else f"{value:{sign}.2f}"


def _named(value) -> bool:
    """A setting's part worth naming (one-shot: its photo); absent, NaN or "-" is not."""
    return isinstance(value, str) and value not in ("", "-")


def _diff(row: pd.Series) -> str:
    if pd.isna(row["diff"]):
        return "-"
    if pd.isna(row["diff_ci_low"]):
        return _num(row["diff"], "+")
    return f"{_num(row['diff'], '+')} [{_num(row['diff_ci_low'], '+')}, {_num(row['diff_ci_high'], '+')}]"


def rows(verdicts: pd.DataFrame) -> list:
    """The headline rows of the deciding settings: claims tested or waiting for convergence.  Left out: size
    claims, and claims with no run on one side (``verdicts.one_sided``: the report lists them below its verdict
    table, with the reason)."""
    deciding = verdicts[verdicts["preset"].isin(DECIDING_PRESETS)]
    deciding = deciding[~deciding["claim"].str.contains("with a smaller model", regex=False)]
    deciding = deciding[~one_sided(deciding)]
    out = []
    for _, row in deciding.iterrows():
        setting = f"{row['suite']} `{row['preset']}`" + (f", {row['image']}" if _named(row.get("image")) else "")
        out.append(f"| {setting} | {row['claim']} | **{row['verdict']}** | {int(row['n_a'])} / {int(row['n_b'])} | "
                   f"{_num(row['mean_a'])} | {_num(row['mean_b'])} | {_diff(row)} | {_num(row['mdd'])} |")
    return out


def main(argv: list) -> int:
    path = Path(argv[0]) if argv else REPO / "results" / "reference" / "report" / "verdicts.csv"
    if not path.is_file():
        print(f"no verdicts at {path}: render the report first (python -m benchmark report ...)", file=sys.stderr)
        return 2
    body = rows(pd.read_csv(path))
    print(HEADER)
    print("\n".join(body) if body else "| - | no deciding runs yet | | | | | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
