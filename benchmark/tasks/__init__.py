"""Task implementations, registered in :data:`benchmark.runner.TASKS` by name."""

from benchmark.runner import TASKS
from benchmark.tasks.recognition import run_recognition

TASKS.add("recognition", run_recognition)
