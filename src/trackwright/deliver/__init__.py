"""Delivery: the main master, alternates, cutdowns, stingers, loops, adaptive layers, stems and metadata.

>>> from trackwright.deliver import deliver
>>> result = deliver("song", target="streaming", output="song-delivery")   # doctest: +SKIP
>>> result.files[0].name                                                   # doctest: +SKIP
'Song_Main_v3.wav'
"""

from trackwright.deliver.package import DELIVERABLE_KINDS, Deliverable, DeliveryResult, deliver
from trackwright.deliver.wavmeta import BextInfo, LoopPoint, read_bext, read_loop_points, write_wav_chunks

__all__ = ["DELIVERABLE_KINDS", "BextInfo", "Deliverable", "DeliveryResult", "LoopPoint", "deliver", "read_bext",
           "read_loop_points", "write_wav_chunks"]
