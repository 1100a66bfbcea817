"""Running the command line in-process for tests."""

from __future__ import annotations

import pytest

from trackwright.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``trackwright ARGS…``."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
