"""Stem separation: the Separator interface and its implementations."""
