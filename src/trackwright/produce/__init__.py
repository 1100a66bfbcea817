"""The production layer: rendering MIDI with real instruments (FluidSynth and SoundFonts)."""
