"""The symbolic layer: MIDI drafts, chords, melodies."""
