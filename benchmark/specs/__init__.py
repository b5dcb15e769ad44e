"""The built-in task specs, registered here in one explicit list (see :mod:`benchmark.spec`)."""

from benchmark.spec import TASK_SPECS, register_spec
from benchmark.specs import one_shot, recognition, synthesis

BUILTIN = (recognition.SPEC, synthesis.SPEC, one_shot.SPEC)

for _spec in BUILTIN:
    if _spec.name not in TASK_SPECS:
        register_spec(_spec)
