"""Mixing and mastering: delivery targets, the true-peak limiter, spectrum matching, the chain."""
