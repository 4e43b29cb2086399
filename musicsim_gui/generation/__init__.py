"""Stem generation: the Generator interface and its model families."""
