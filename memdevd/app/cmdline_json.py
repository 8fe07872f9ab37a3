"""JSON on QEMU's command line: ``-object '{...}'``, ``-device '{...}'``, ``-blockdev``...

vl.c takes an option argument that starts with ``{`` as JSON, parsed by the
same lexer and parser as the monitor (``qobject_from_json``, here
:mod:`memdevd.qmp.framing`), with its error texts; the rest as keyval
(:mod:`memdevd.util.qemu_opts`).  It lives with the process layer because
it joins the two.
"""

from __future__ import annotations

import os
from typing import cast

from memdevd import messages as M
from memdevd.util.qemu_opts import JSONValue, OptionError, keyval_parse


def qobject_from_json(text: str, *, push: bool = False) -> JSONValue:
    """QEMU's qobject_from_json(): one JSON value, or OptionError with QEMU's text.

    QEMU's dialect, from the same lexer and parser as the monitor
    (:mod:`memdevd.qmp.framing`): single-quoted strings, numbers that fit in
    int64/uint64 are integers (others floats), duplicate keys and trailing
    garbage are errors.  Objects keep their key order.  ``consume_json()``
    keeps the first error, and a second value is "at most one" error.
    ``push``: the release's parser (Release.json_push_parser), whose errors
    carry the line and column.
    """
    from memdevd.qmp.framing import JSONError, JSONStreamer

    streamer = JSONStreamer(fast=False, push=push)
    items = streamer.feed(os.fsencode(text))
    items += streamer.flush()
    value: JSONValue = None
    have_value = False
    error: str | None = None
    for item in items:
        if have_value:
            have_value = False
            value = None
            error = "Expecting at most one JSON value"
        if error is not None:
            continue
        if isinstance(item, JSONError):
            error = item.desc
        else:
            value = cast("JSONValue", item)
            have_value = True
    if error is not None:
        raise OptionError(error)
    if not have_value:
        raise OptionError(M.EXPECTING_JSON_VALUE)
    return value


def parse_keyval_or_json(
    text: str, implied_key: str | None, *, push: bool = False
) -> tuple[dict[str, JSONValue], bool]:
    """qobject_input_visitor_new_str()'s parsing step: JSON if ``text`` starts with '{'.

    Used by ``-blockdev``, ``-display``, ``-compat``, ``-audiodev``,
    ``-netdev`` (modern form) and 10.0's ``-incoming``.  Returns the
    dictionary and whether it was JSON (JSON values are typed, keyval values
    are strings: the two are visited with different rules).
    """
    if text.startswith("{"):
        value = qobject_from_json(text, push=push)
        assert isinstance(value, dict)
        return value, True
    result = keyval_parse(text, implied_key, help_allowed=False)
    # keyval values are strings, dicts and lists: a subset of JSON values
    return cast("dict[str, JSONValue]", result.values), False
