"""corral: a scheduler and placement service for compute clouds."""

__version__ = "0.1.0"
