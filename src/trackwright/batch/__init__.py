"""Catalogue scale: thousands of drafts analysed, judged, de-duplicated, mastered and delivered.

>>> from trackwright.batch import run_batch
>>> result = run_batch(["drafts/", "more/*.wav"], "catalogue", steps="analyze,qc")   # doctest: +SKIP
>>> result.verdicts, result.duplicate_groups[:1]                                     # doctest: +SKIP
({'needs work': 61, 'ready': 32, 'reject': 7}, [['rain-1a2b3c4d', 'rain-v2-5e6f7a8b']])

Locally the tracks run in a pool of processes sized to the machine's cores and memory; with
``ray="auto"`` (the ``[distributed]`` extra) the same per-track work runs as Ray tasks on a
cluster. Every step's output is keyed by the content of its inputs and settings, so a rerun
skips finished work and a killed batch resumes where it stopped. See :mod:`.steps` for the
steps, :mod:`.qc` for the verdicts, :mod:`.duplicates` for the near-duplicate search and
:mod:`.catalog` for the catalogue files.
"""

from trackwright.batch.duplicates import DuplicateReport, find_duplicates, match_score
from trackwright.batch.fingerprint import Fingerprint, fingerprint
from trackwright.batch.inputs import (
           MANIFEST_FIELDS,
           TrackInput,
           gather_inputs,
           read_manifest,
)
from trackwright.batch.qc import (
           QcFacts,
           QcRules,
           QcVerdict,
           Reason,
           judge,
           measure_facts,
)
from trackwright.batch.run import BatchResult, run_batch
from trackwright.batch.steps import (
           STEPS,
           BatchSettings,
           TrackJob,
           TrackOutcome,
           process_track,
)

__all__ = ["MANIFEST_FIELDS", "STEPS", "BatchResult", "BatchSettings", "DuplicateReport", "Fingerprint", "QcFacts",
           "QcRules", "QcVerdict", "Reason", "TrackInput", "TrackJob", "TrackOutcome", "find_duplicates",
           "fingerprint", "gather_inputs", "judge", "match_score", "measure_facts", "process_track",
           "read_manifest", "run_batch"]
