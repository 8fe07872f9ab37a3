"""Every text memdevd answers or prints with is a named constant in memdevd/messages.py.

A reviewer diffs that one module against QEMU's sources, and a text that
differs per release is one constant per release named from the release
table.  So no error raised by the daemon is written at the raise: an error
constructor (``*Error``, ``*Exit``) or a ``Diagnostic`` given a string
literal or an f-string, anywhere in the package outside messages.py, fails
here.  Exceptions that report a bug in memdevd itself (``TypeError``,
``ValueError``... raised on impossible input) are not answers and may
carry their own text; so may the developer tools (memdevd/devtools), whose
texts are about scenario files, not QEMU.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

from memdevd import messages as M

PACKAGE = Path(__file__).resolve().parents[2] / "memdevd"

#: Python's own exceptions: raised for programming errors, never answered
#: (SystemExit's text is printed, so it counts).
BUILTIN = (frozenset(dir(builtins)) | {"FrozenInstanceError"}) - {"SystemExit"}

#: Not part of what the daemon answers (see the module docstring).
EXEMPT = ("devtools/", "messages.py", "testing.py", "records.py")


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _has_literal_text(node: ast.expr) -> bool:
    """A str literal or f-string, alone or concatenated with ``+``."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _has_literal_text(node.left) or _has_literal_text(node.right)
    return False


def inline_texts(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = _callee(node)
        answered = name.endswith(("Error", "Exit")) or name == "Diagnostic"
        if answered and name not in BUILTIN and _has_literal_text(node.args[0]):
            found.append((node.lineno, ast.unparse(node)[:120]))
    return sorted(found)


def test_no_error_text_outside_messages() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(EXEMPT):
            continue
        found += [f"{rel}:{line}: {call}" for line, call in inline_texts(path.read_text())]
    assert found == []


def test_the_check_finds_inline_texts() -> None:
    """The scanner itself: what it must catch and what it must let through."""
    caught = inline_texts(
        "raise CoreError(f'Device {x} not found')\n"
        "raise OptionError('invalid option', location=w)\n"
        "raise QMPError('JSON parse error, ' + rest)\n"
        "fail(Diagnostic('mon: unsupported'))\n"
        "raise SystemExit('bad usage')\n"
    )
    assert [line for line, _ in caught] == [1, 2, 3, 4, 5]
    passed = inline_texts(
        "raise CoreError(M.DEVICE_NOT_FOUND.format(x))\n"
        "raise ValueError(f'impossible {x}')\n"
        "raise CoreError(M.A.format(x) + release.text.format(y))\n"
        "raise KeyError(name)\n"
    )
    assert passed == []


def test_constants_are_final_strings() -> None:
    """messages.py holds texts only: every public name is a str."""
    public = {k: v for k, v in vars(M).items() if k.isupper()}
    assert public, "messages.py defines no texts"
    assert {k for k, v in public.items() if not isinstance(v, str)} == set()


def test_every_text_is_used() -> None:
    """A constant nothing answers with is a claim about QEMU that no test
    covers: texts join messages.py with the code that answers them."""
    sources = "\n".join(
        path.read_text() for path in PACKAGE.rglob("*.py") if path.name != "messages.py"
    )
    used = set(re.findall(r"\b[A-Z][A-Z0-9_]*\b", sources))
    assert [name for name in vars(M) if name.isupper() and name not in used] == []
