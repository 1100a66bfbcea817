"""trackwright: carry an AI-generated song the rest of the way to a delivered piece of music.

Conventions used everywhere in this package:

* samples are ``float32`` arrays shaped ``(channels, frames)``, full scale is ±1.0;
* times are seconds, levels dBFS / LUFS / dBTP, frequencies Hz;
* library code never prints: warnings travel in the returned results.
"""

from trackwright.audio import Audio, load_audio, save_audio
from trackwright.errors import TrackwrightError

__version__ = "0.1.0"

__all__ = ["Audio", "TrackwrightError", "__version__", "load_audio", "save_audio"]
