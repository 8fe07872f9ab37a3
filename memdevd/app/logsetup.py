"""Logging for a daemon that runs inside other people's CI.

``-memdevd log-level=debug|info|warning|error`` (default warning),
``log-file=PATH`` (default stderr) and ``log-format=text|json``.  What is
logged, by level:

* info: connections opened and closed (with the listener and peer), error
  replies (command, class, text), JSON syntax errors, start and shutdown;
* debug: every command with its id and arguments.

Arguments are cut to ``MAX_ARGS_CHARS`` characters (memdevd/qmp/session.py,
which logs them), so a 64 MiB request never lands in a log; nothing secret
passes through memdevd (QMP has no credentials), but ``mem-path`` values
are logged as given.  The JSON format
writes one object per line: ``ts``, ``level``, ``msg`` and the record's
fields (``event``, ``command``, ``id``, ``peer``, ...).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(prog: str, level: str, path: str | None = None, fmt: str = "text") -> None:
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    )
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(f"{prog}: %(levelname)s: %(message)s"))
    root = logging.getLogger("memdevd")
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    root.propagate = False
