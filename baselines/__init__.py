"""Baseline models of the study, registered in timm's model registry.

``import baselines`` registers the small-input variants used by the ``smoke`` and
``default`` presets (see :mod:`baselines.small`).  The 224 px baselines are timm's
own (``resnet50``, ``seresnet50``, ``swin_tiny_patch4_window7_224``, ``pvt_v2_b2``, ...).
This package never imports :mod:`benchmark`.
"""

from baselines import resnext, small  # noqa: F401  (registers the small-input variants and controls in timm)
