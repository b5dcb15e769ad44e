"""SASE modules and SASE-ResNet; ``import sase`` registers the models in timm.

:mod:`sase.recognition` holds the same-layer SASE conv (our interpretation) and :mod:`sase.resnet`
the SASE-ResNet variants built on timm's ``ResNet``.  This package never imports :mod:`benchmark`.
"""

from sase import resnet  # noqa: F401  (registers sase_resnet* in timm)
