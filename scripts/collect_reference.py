"""Copy the completed runs of a results folder into the committed reference (records and their pictures).

Deciding runs take hours, so they run in the background from a clean, committed checkout into a folder of
their own, and their completed records are committed as they land:

    python scripts/collect_reference.py /work/decide            # into results/reference
    python scripts/collect_reference.py /work/decide --dry-run

Only records with ``status: completed`` whose ``git_commit`` is a clean commit (no ``-dirty``) are copied,
with the sample grids and pyramid pictures they name; checkpoints never are.  A record already in the
reference is left alone, and so is one retired into ``results/archive`` (a setting the reference no longer
uses).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference"
ARCHIVE = REFERENCE.parent / "archive"
PICTURE_FIELDS = ("sample_grid", "pyramid_picture")


def collect(source: Path, reference: Path = REFERENCE, dry_run: bool = False) -> list:
    copied = []
    for path in sorted((source / "records").glob("*/*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        commit = str(record.get("git_commit", ""))
        if record.get("status") != "completed" or commit.endswith("-dirty") or commit in ("", "unknown"):
            continue
        dest = reference / "records" / path.parent.name / path.name
        if dest.exists() or (ARCHIVE / "records" / path.parent.name / path.name).exists():
            continue
        files = [(path, dest)] + [(source / record[f], reference / record[f]) for f in PICTURE_FIELDS
                                  if record.get(f) and (source / record[f]).is_file()]
        for src, dst in files:
            if not dry_run:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        copied.append(dest)
    return copied


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="the results folder the runs wrote to (--results-dir)")
    p.add_argument("--reference", type=Path, default=REFERENCE)
    p.add_argument("--dry-run", action="store_true")
    a = p.parse_args()
    for dest in collect(a.source, a.reference, a.dry_run):
        print(("would copy " if a.dry_run else "copied ") + str(dest))


if __name__ == "__main__":
    main()
