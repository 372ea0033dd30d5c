"""hybriddash: multilingual retrieval fairness and hybrid-batch training."""

__version__ = "0.1.0"
