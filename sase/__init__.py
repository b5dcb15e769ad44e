"""SASE modules and SASE-ResNet; ``import sase`` registers the models in timm."""
