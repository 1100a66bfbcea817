"""Measurements of audio: loudness (BS.1770 / EBU R128) first; rhythm, harmony and structure follow."""
