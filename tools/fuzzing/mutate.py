"""Seeded mutations of a seed file's bytes.

Every mutation is a function ``(rng, data, kind) -> bytes`` of a :class:`random.Random`, the
seed's bytes and its :class:`Kind` (what the format's bytes look like: where its sections end,
whether it is text, JSON or YAML). :func:`mutate` applies one to three of them, chosen by
``rng``, so an input is reproducible from (seed file, rng seed).

The mutations: bit flips, byte overwrites, insertions and deletions, truncation at a section
boundary of the format (header end, element and chunk boundaries, line ends), numbers in the
text replaced by huge counts, negative / out-of-range indices, NaN and infinities, binary
integers and floats overwritten at section boundaries, non-UTF-8 bytes and re-encodings,
duplicated lines, and for JSON and YAML documents structural edits (a value replaced by a
value of another type or a huge or non-finite number, a key dropped, a value nested tens of
thousands of levels deep, YAML aliases that share one value many times over).
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import yaml

__all__ = ["Kind", "MUTATIONS", "mutate"]

# numbers that break counts, indices and arithmetic
HUGE_NUMBERS = (
    b"1000000000000", b"4294967295", b"4294967296", b"2147483647", b"2147483648",
    b"9223372036854775807", b"18446744073709551616", b"99999999999999999999999",
    b"-1", b"-2147483648", b"0", b"-0", b"1", b"3",
)
ODD_NUMBERS = (b"nan", b"NaN", b"inf", b"-inf", b"1e309", b"-1e309", b"1e-320", b"0.5",
               b"1e38", b"3.4e39", b"0x10", b"1_000", b"", b"+", b"-", b".", b"1e")
INTERESTING_INTS = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                    0x10000000, 1_000_000_000)
INTERESTING_FLOATS = (math.nan, math.inf, -math.inf, 3.4e38, -3.4e38, 1e-45, 0.0, -0.0)
NON_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80",
            b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf")
JSON_VALUES = (None, True, False, 0, -1, 1, 2, 2 ** 31, 2 ** 32 - 1, 2 ** 63, 10 ** 12,
               -(10 ** 12), 0.5, math.nan, math.inf, -math.inf, 1e308, "", "x", "../../x",
               "data:application/octet-stream;base64,AAAA", [], [0], [[0]], {}, {"a": 1},
               [math.nan] * 16, list(range(16)), "\u202e\ud7ff")
_NUMBER = re.compile(rb"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|(?i:nan|inf)")
_DEEP = 5_000  # levels of nesting in the deep-nesting mutations (Python recurses 1000)


@dataclass(frozen=True)
class Kind:
    """How a format's bytes are laid out, for the mutations.

    Args:
        text: whether the format is text (line-based mutations, number replacement).
        boundaries: ``data -> sorted offsets`` where the format's sections end (header end,
            element or chunk boundaries); line ends are added for text formats.
        document: "json", "yaml", "glb" (a JSON chunk in a GLB container) or None: structural
            edits of the parsed document.
    """

    text: bool
    boundaries: Callable[[bytes], list[int]] | None = None
    document: str | None = None

    def offsets(self, data: bytes) -> list[int]:
        """Section boundaries of ``data`` (always including 0 and its length)."""
        found = set(self.boundaries(data)) if self.boundaries else set()
        if self.text:
            found.update(m.end() for m in re.finditer(rb"\n", data))
        found.update((0, len(data)))
        return sorted(o for o in found if 0 <= o <= len(data))


def _position(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def flip_bits(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """One to eight single-bit flips."""
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite_bytes(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A few bytes set to random or boundary values."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, 10, 32, 45, 57,
                                                   rng.randrange(256)))
    return bytes(out)


def insert_bytes(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """Random bytes, or a copy of another part of the file, inserted somewhere."""
    at = _position(rng, data)
    if data and rng.random() < 0.5:
        start = rng.randrange(len(data))
        piece = data[start:start + rng.randint(1, 256)]
    else:
        piece = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
    return data[:at] + piece * rng.choice((1, 1, 2, 16)) + data[at:]


def delete_bytes(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A range of bytes removed (up to a quarter of the file)."""
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, max(1, len(data) // 4)):]


def truncate(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """The file cut at a section boundary (or a byte either side of one), or anywhere."""
    offsets = kind.offsets(data)
    if rng.random() < 0.8:
        at = rng.choice(offsets) + rng.choice((0, 0, 0, -1, 1))
    else:
        at = _position(rng, data)
    return data[:max(0, min(at, len(data)))]


def replace_number(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """One to three numbers in the text (a count, an index, a coordinate) replaced by a huge,
    negative, non-finite or malformed one."""
    numbers = list(_NUMBER.finditer(data[:1 << 20]))
    if not numbers:
        return insert_bytes(rng, data, kind)
    out = data
    for match in sorted(rng.sample(numbers, min(len(numbers), rng.randint(1, 3))),
                        key=lambda m: -m.start()):
        new = rng.choice(HUGE_NUMBERS if rng.random() < 0.6 else ODD_NUMBERS)
        out = out[:match.start()] + new + out[match.end():]
    return out


def overwrite_int(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A binary integer (u8, u16 or u32, either byte order) written at a section boundary (where
    counts and lengths sit) or at a random 4-aligned offset."""
    if not data:
        return data
    fmt = rng.choice(("<I", ">I", "<H", ">H", "B", "<i"))
    value = rng.choice(INTERESTING_INTS)
    packed = struct.pack(fmt, value & ((1 << (8 * struct.calcsize(fmt) - (fmt == "<i"))) - 1))
    offsets = kind.offsets(data)
    at = rng.choice(offsets) if rng.random() < 0.6 else rng.randrange(0, len(data), 4)
    at = max(0, min(at - rng.choice((0, 0, 4, 8)), len(data)))
    return data[:at] + packed + data[at + len(packed):]


def overwrite_float(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A float32 or float64 NaN, infinity or extreme value written at a random 4-aligned
    offset."""
    if len(data) < 8:
        return flip_bits(rng, data, kind)
    fmt = rng.choice(("<f", ">f", "<d"))
    value = rng.choice(INTERESTING_FLOATS)
    try:
        packed = struct.pack(fmt, value)
    except OverflowError:
        packed = struct.pack(fmt, math.inf)
    at = rng.randrange(0, len(data) - len(packed) + 1, 4)
    return data[:at] + packed + data[at + len(packed):]


def non_utf8(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """Invalid UTF-8 inserted, or the whole text re-encoded as UTF-16 / Latin-1 accents."""
    roll = rng.random()
    if roll < 0.15:
        return data.decode("latin-1").encode("utf-16")
    if roll < 0.25:
        return data.replace(b"e", b"\xe9", rng.randint(1, 3))
    at = _position(rng, data)
    return data[:at] + rng.choice(NON_UTF8) + data[at:]


def repeat_lines(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A line repeated, or two lines swapped."""
    lines = data.splitlines(keepends=True)
    if len(lines) < 2:
        return insert_bytes(rng, data, kind)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if rng.random() < 0.5:
        lines[i:i] = [lines[j]] * rng.choice((1, 2, 50))
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def _containers(doc) -> list:
    """Every dict and list inside ``doc`` (``doc`` too), each once however often YAML aliases
    share it (breadth first, up to 10000, without recursion: the document may nest deeply)."""
    found, seen, current = [], set(), [doc]
    while current and len(found) < 10_000:
        current = [v for v in current if isinstance(v, (dict, list)) and id(v) not in seen]
        seen.update(id(v) for v in current)
        found += current
        current = [c for v in current for c in (v.values() if isinstance(v, dict) else v)]
    return found


def _value(rng: random.Random) -> object:
    """A fresh copy of one of :data:`JSON_VALUES` (edits must not reach the constants)."""
    return copy.deepcopy(rng.choice(JSON_VALUES))


def _deep(value) -> object:
    for _ in range(_DEEP):
        value = [value]
    return value


def _edit_document(rng: random.Random, doc) -> object:
    """``doc`` with one structural edit (in place where it is a container)."""
    containers = _containers(doc)
    if not containers:
        return _value(rng)
    target = rng.choice(containers)
    keys = list(target) if isinstance(target, dict) else list(range(len(target)))
    if not keys:
        if isinstance(target, dict):
            target[rng.choice(("count", "uri", "x", "frames"))] = _value(rng)
        else:
            target.append(_value(rng))
        return doc
    key = rng.choice(keys)
    roll = rng.random()
    if roll < 0.15:
        del target[key]
    elif roll < 0.2:
        target[key] = _deep(target[key])
    elif roll < 0.3 and isinstance(target, list):
        target.extend([target[key]] * rng.choice((2, 100)))
    else:
        target[key] = _value(rng)
    return doc


def _json_text(doc) -> bytes:
    try:
        return json.dumps(doc).encode()
    except (RecursionError, ValueError):
        return b"[" * _DEEP + b"]" * _DEEP


def edit_json(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A JSON document with a structural edit (for a GLB: its JSON chunk, the container's
    lengths kept right so the edit reaches the glTF reader)."""
    if kind.document == "glb":
        return _edit_glb(rng, data)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return replace_number(rng, data, kind)
    return _json_text(_edit_document(rng, doc))


def _edit_glb(rng: random.Random, data: bytes) -> bytes:
    if len(data) < 20:
        return flip_bits(rng, data, Kind(text=False))
    size = struct.unpack_from("<I", data, 12)[0]
    try:
        doc = json.loads(data[20:20 + size])
    except (ValueError, RecursionError):
        return flip_bits(rng, data, Kind(text=False))
    chunk = _json_text(_edit_document(rng, doc))
    chunk += b" " * (-len(chunk) % 4)
    rest = data[20 + size:]
    body = struct.pack("<II", len(chunk), 0x4E4F534A) + chunk + rest
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def _alias_bomb() -> bytes:
    """A YAML value whose aliases, expanded, would be 10**9 items."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return ("\n".join(lines) + "\n").encode()


def edit_yaml(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """A YAML document with a structural edit, an alias bomb added or a deeply nested value."""
    roll = rng.random()
    if roll < 0.08:
        return data + b"\n" + _alias_bomb()
    if roll < 0.12:
        return data + b"\ndeep: " + b"[" * _DEEP + b"]" * _DEEP + b"\n"
    if roll < 0.16:
        return b"- " * rng.choice((100, 5000)) + b"x\n"
    try:
        doc = yaml.safe_load(data)
        return yaml.safe_dump(_edit_document(rng, doc), sort_keys=False).encode()
    except (yaml.YAMLError, ValueError, RecursionError):
        return replace_number(rng, data, kind)


def deep_nesting(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """Brackets or braces nested tens of thousands deep, inserted at a random place."""
    opening, closing = rng.choice(((b"[", b"]"), (b"{\"a\":", b"}")))
    at = _position(rng, data)
    return data[:at] + opening * _DEEP + b"0" + closing * _DEEP + data[at:]


BYTE_MUTATIONS = (flip_bits, overwrite_bytes, insert_bytes, delete_bytes, truncate, truncate,
                  overwrite_int, non_utf8)
TEXT_MUTATIONS = (replace_number, replace_number, replace_number, repeat_lines)
BINARY_MUTATIONS = (overwrite_int, overwrite_int, overwrite_float, replace_number)
MUTATIONS = BYTE_MUTATIONS + TEXT_MUTATIONS + BINARY_MUTATIONS + (
    edit_json, edit_yaml, deep_nesting)


def _choices(kind: Kind) -> tuple:
    extra = TEXT_MUTATIONS if kind.text else BINARY_MUTATIONS
    if kind.document in ("json", "glb"):
        extra += (edit_json, edit_json, edit_json, deep_nesting)
    elif kind.document == "yaml":
        extra += (edit_yaml, edit_yaml, edit_yaml)
    return BYTE_MUTATIONS + extra


def mutate(rng: random.Random, data: bytes, kind: Kind) -> bytes:
    """``data`` after one to three mutations chosen by ``rng`` among those suited to
    ``kind``."""
    choices = _choices(kind)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        data = rng.choice(choices)(rng, data, kind)
    return data
