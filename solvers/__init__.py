"""Solvers that design networks without training (DeepMAD, compound scaling)."""
