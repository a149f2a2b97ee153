"""Renderers: pure functions from a Report (or diagnostics) to text."""
