"""Make student-originated text safe to show in results.json, CSV, HTML and terminals.

What a submission prints, and the messages of the exceptions it raises, may hold
ANSI escapes (which can paint a fake ``TOTAL 100.00`` on the instructor's
terminal), bidirectional overrides and zero-width characters (which make text read
other than it is) and lone surrogates (which strict UTF-8 writers and readers reject).
:func:`clean` makes them visible and harmless; :func:`clean_tree` does it for every
string inside a JSON-like value. :func:`csv_cell` keeps a spreadsheet from reading a
text cell as a formula.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0, DEL and C1, except \t and \n
# Bidirectional embeddings, overrides and isolates, zero-width characters and marks, the
# invisible operators and the byte order mark.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")  # a spreadsheet's number


def clean(text: object) -> str:
    """``str(text)`` with lone surrogates replaced by U+FFFD and every control
    character except newline and tab written out visibly (ESC becomes ``\\x1b``), as are
    the invisible characters of ``_INVISIBLE`` (U+202E becomes ``\\u202e``). Line endings
    become ``\\n``; other characters (accents, emoji) are kept."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _SURROGATE.sub("\ufffd", text)
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def clean_tree(value: Any) -> Any:
    """A copy of ``value`` with :func:`clean` applied to every string in it, dictionary
    keys included; numbers, booleans and None are kept as they are."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_tree(key): clean_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_tree(item) for item in value]
    return value


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows as written: text is cleaned, and text
    that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) gets a
    single quote in front (OWASP's rule), unless it is just a number (``-5``); numbers,
    booleans and None are kept as they are."""
    if not isinstance(value, str):
        return value
    formula = value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value)
    return clean("'" + value if formula else value)
