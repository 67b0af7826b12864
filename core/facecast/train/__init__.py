"""Training data and evaluation: the synthetic speech corpus and the quality metrics of DESIGN.md."""
