"""Run several ``trackwright`` command lines in one interpreter (a subprocess of a test that needs
another user, a file-size limit or a time limit); print one JSON list of [exit code, stderr]."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys

from trackwright.cli import main

if __name__ == "__main__":
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main([os.fsdecode(a.encode("utf-8", "surrogateescape")) for a in argv])
        results.append([code, err.getvalue()])
    print(json.dumps(results))
