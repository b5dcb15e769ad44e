"""The built-in task specs, registered here in one explicit list (see :mod:`benchmark.spec`)."""

from benchmark.spec import TASK_SPECS, register_spec
from benchmark.specs import recognition, synthesis

BUILTIN = (recognition.SPEC, synthesis.SPEC)

for _spec in BUILTIN:
    if _spec.name not in TASK_SPECS:
        register_spec(_spec)
