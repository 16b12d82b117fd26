"""Evaluators (the trainer) and executors (local, Ray Tune)."""
