"""docs/records.md names every record field (issue 22), and CITATION.cff is a valid software citation."""

import json
import re

import yaml
from benchutil import REPO

DOC = REPO / "docs" / "records.md"
#: Fields the current code writes that the committed reference records (written before them) lack.
NEWER = {
    "recognition": ("converged", "convergence_figure", "convergence_what", "convergence_rule", "parallel_jobs",
                    "top1_ema", "top5_ema", "train_compile_mode", "supersedes", "top1_best", "top1_best_epoch",
                    "top5_at_best", "optimizer", "num_classes", "recipe_row"),
    "synthesis": ("ema_decay", "ema_warmup", "train_compile_mode"),
    "one-shot": ("cpu_threads_timing",),
}


def _documented() -> set:
    return set(re.findall(r"`([a-z0-9_]+)`", DOC.read_text()))


def test_every_field_of_every_reference_record_is_documented():
    documented = _documented()
    missing = {}
    for path in sorted((REPO / "results" / "reference" / "records").glob("*/*.json")):
        record = json.loads(path.read_text())
        names = set(record) | set(record["env"]) | set(record["config"])
        for row in record.get("history") or []:
            names |= set(row)
            for point in row.get("curve", []):
                names |= set(point)
        for name in names - documented:
            missing.setdefault(name, path.parent.name)
    assert not missing, f"fields not in docs/records.md: {missing}"
    for task, fields in NEWER.items():
        assert set(fields) <= documented, task


def test_fields_written_by_the_task_code_are_documented():
    """String keys of the dicts the task modules return, and the runner's, are in the doc."""
    documented = _documented()
    sources = ["benchmark/runner.py", "benchmark/tasks/recognition.py", "benchmark/tasks/synthesis.py",
               "benchmark/tasks/one_shot.py", "benchmark/convergence.py", "benchmark/metrics/cost.py"]
    keys = set()
    for src in sources:
        keys |= set(re.findall(r'"([a-z][a-z0-9_]+)":', (REPO / src).read_text()))
    # not record fields: run-key content, timm kwargs, paths, the in-memory "kept" marker of a skipped run
    internal = {"chosen", "grid", "pyramid", "cache", "samples", "data", "drop_path_rate", "folder", "skipped"}
    assert not sorted(keys - internal - documented)


def test_citation_cff_cites_the_software_and_the_paper():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert {"message", "title", "authors"} <= set(cff)
    version = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M).group(1)
    assert cff["version"] == version
    [paper] = [r for r in cff["references"] if "2112.14804" in str(r.get("url", ""))]
    assert paper["title"].startswith("Learning Spatially-Adaptive Squeeze-Excitation Networks")
    assert [a["family-names"] for a in paper["authors"]] == ["Shen", "Wu"]
    assert paper["doi"] == "10.48550/arXiv.2112.14804"
    for ref in cff["references"]:
        assert {"type", "title", "authors"} <= set(ref) and ref["authors"]
