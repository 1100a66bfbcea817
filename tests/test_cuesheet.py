"""Cue sheets: the CSV carries every field societies ask for, timecodes and durations are right,
the HTML is escaped, and bad sheets are refused with one clear line."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trackwright.deliver.cuesheet import (COLUMNS, Cue, CueSheet, Party, cue_sheet_csv, duration_label, timecode,
                                          write_cue_sheet)
from trackwright.errors import ParameterError


def _sheet(**changes) -> CueSheet:
    cue = Cue("Night <Drive>", (Party("A. Writer", "PRS", "00123456789", 50), Party("B. Writer", "ASCAP", "", 50)),
              (Party("Pub Music", "PRS", "", 100),), "BI", 61.2, 92.68, isrc="GBABC2600001",
              catalogue_number="CAT042", artist="Band", file="Song_Cutdown_30s_broadcast.wav")
    second = Cue("Sting", (Party("A. Writer"),), (), "LOGO", 3600.0, 3604.0)
    values = {"production": "The Film", "cues": (cue, second), "episode": "Ep. 3", "company": "Studio",
              "frame_rate": 25.0}
    values.update(changes)
    return CueSheet(**values)


def test_csv_fields_timecodes_and_durations(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(cue_sheet_csv(_sheet()))))
    assert tuple(rows[0]) == COLUMNS
    first, second = rows
    assert first["title"] == "Night <Drive>" and first["usage"] == "BI"
    assert first["composers"] == "A. Writer (PRS, IPI 00123456789) 50%; B. Writer (ASCAP) 50%"
    assert first["publishers"] == "Pub Music (PRS) 100%"
    assert (first["timecode_in"], first["timecode_out"]) == ("00:01:01:05", "00:01:32:17")
    assert first["duration"] == "00:31" and float(first["duration_s"]) == pytest.approx(31.48)
    assert (first["isrc"], first["catalogue_number"], first["file"]) == ("GBABC2600001", "CAT042",
                                                                         "Song_Cutdown_30s_broadcast.wav")
    assert second["timecode_in"] == "01:00:00:00" and second["duration"] == "00:04"
    csv_path, html_path = write_cue_sheet(_sheet(), tmp_path)
    assert csv_path.read_bytes().decode("utf-8") == cue_sheet_csv(_sheet())

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.cells, self.tags = [], set()

        def handle_starttag(self, tag, attrs):  # noqa: ANN001
            self.tags.add(tag)

        def handle_data(self, data):  # noqa: ANN001
            self.cells.append(data)

    page = Cells()
    page.feed(html_path.read_text(encoding="utf-8"))
    assert "Night <Drive>" in page.cells and "drive" not in page.tags and "script" not in page.tags
    assert "00:01:01:05" in page.cells


def test_timecode_at_film_and_ntsc_rates() -> None:
    assert timecode(1.0, 23.976) == "00:00:00:23"  # NDF: 24 frame numbers a second, running slow
    assert timecode(10.0, 24) == "00:00:10:00"
    assert timecode(0.999, 29.97) == "00:00:00:29"
    assert duration_label(3725.4) == "1:02:05"


@pytest.mark.parametrize(("changes", "message"), [
    ({"frame_rate": 50.0}, "frame rate 50"),
    ({"production": " "}, "production title is empty"),
    ({"cues": (Cue("X", (Party("A", share_percent=60), Party("B", share_percent=30)), (), "BI", 0, 1),)},
     "composer shares add up to 90%"),
    ({"cues": (Cue("X", (Party("A", share_percent=100), Party("B")), (), "BI", 0, 1),)}, "every composer a share"),
    ({"cues": (Cue("X", (Party("A"),), (), "BG", 0, 1),)}, "usage 'BG'"),
    ({"cues": (Cue("X", (Party("A"),), (), "BI", 5, 5),)}, "must come after in"),
    ({"cues": (Cue("X", (), (), "BI", 0, 1),)}, "at least one composer"),
])
def test_bad_sheets_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        cue_sheet_csv(_sheet(**changes))
