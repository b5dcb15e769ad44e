"""Task implementations, registered in :data:`benchmark.runner.TASKS` by name."""

from benchmark.runner import TASKS
from benchmark.tasks.recognition import run_recognition
from benchmark.tasks.synthesis import run_synthesis

TASKS.add("recognition", run_recognition)
TASKS.add("synthesis", run_synthesis)
