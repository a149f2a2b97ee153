"""cnncalc: a calculator for convolutional network architectures.

Text spec -> layer graph -> shape propagation -> counts and memory -> report -> renderers.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
