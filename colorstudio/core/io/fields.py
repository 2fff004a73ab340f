"""Typed access to untrusted JSON objects and XML attributes (project files, recovery info).

A file's data is read through :class:`Fields`, which checks each value's type and range and
raises one :class:`~colorstudio.core.io.errors.ProjectFileError` naming the file, the entry and
the field; a wrong type never reaches the document as a ``TypeError`` later. Names and ids may be
any Unicode string: :func:`xml_safe` gives the text XML 1.0 can hold, and the exact string
travels beside it (:func:`exact_json`, :func:`from_exact_json`). A string with surrogate code
points (a file name's undecodable byte) is written as the list of its code points
(:func:`to_json_text`), since JSON would merge a high and a low surrogate into one character.
Lengths are bounded by the size limits of the files they come in, not here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from colorstudio.core.io.errors import ProjectFileError

#: Characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def to_json_text(text: str) -> str | list[int]:
    """``text`` as JSON can carry it exactly: itself, or its code points if it has surrogates."""
    return [ord(c) for c in text] if _SURROGATE.search(text) else text


def from_json_text(value: object) -> str | None:
    """The string :func:`to_json_text` wrote; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 0x10FFFF for c in value
    ):
        return "".join(map(chr, value))
    return None


def exact_json(text: str) -> str | None:
    """An ASCII JSON literal of ``text`` when :func:`xml_safe` would change it, else None."""
    return None if xml_safe(text) == text else json.dumps(to_json_text(text))


def from_exact_json(literal: str | None) -> str | None:
    """The string an :func:`exact_json` literal holds; None when absent or not a string."""
    if not literal:
        return None
    try:
        return from_json_text(json.loads(literal))
    except (ValueError, RecursionError):
        return None


class Fields:
    """Typed getters over one JSON object; every mistake is one ProjectFileError."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ProjectFileError(f"{where} must be an object, not {_kind(data)}")
        self.data = data
        self.where = where

    def _fail(self, key: str, wanted: str) -> ProjectFileError:
        return ProjectFileError(
            f"{self.where}: {key!r} must be {wanted}, not {_kind(self.data[key])}"
        )

    def text(self, key: str, default: str | None = None) -> str:
        """A string, as :func:`to_json_text` writes it (``default`` when absent or null)."""
        value = self.data.get(key)
        if value is None:
            if default is None:
                raise ProjectFileError(f"{self.where}: {key!r} is missing")
            return default
        text = from_json_text(value)
        if text is None:
            raise self._fail(key, "a string")
        return text

    def optional_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        """A whole number within low..high (JSON numbers like 3.0 count; booleans do not)."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a whole number")
        if not (math.isfinite(value) and value == int(value) and low <= value <= high):
            raise self._fail(key, f"a whole number within {low}..{high}")
        return int(value)

    def fraction(self, key: str, default: float) -> float:
        """A finite number, clamped into 0..1 (files written by hand may say 1.0000001)."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number")
        if not math.isfinite(value):
            raise self._fail(key, "a finite number")
        return min(max(float(value), 0.0), 1.0)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise ProjectFileError(f"{self.where}: {key!r} must be one of {', '.join(choices)}")
        return value

    def objects(self, key: str, limit: int) -> list[Fields]:
        """A list of at most ``limit`` objects, each wrapped (``[]`` when absent)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "a list")
        if len(value) > limit:
            raise ProjectFileError(
                f"{self.where}: {key!r} has {len(value):,} entries, over {limit}"
            )
        return [Fields(item, f"{self.where} {key}[{i}]") for i, item in enumerate(value)]

    def child(self, key: str) -> Fields | None:
        value = self.data.get(key)
        return None if value is None else Fields(value, f"{self.where} {key}")


def _kind(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)
