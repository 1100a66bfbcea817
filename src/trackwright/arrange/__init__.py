"""Arrangement on the beat grid: edit lists, click-free splicing, section edits, fit to a scene."""
