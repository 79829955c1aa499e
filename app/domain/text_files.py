"""Text files from GP systems: which encoding a file is in, and text read from it.

Clinical systems and spreadsheets save "CSV" in several encodings: UTF-8 with or without
a byte-order mark ("CSV UTF-8" in Excel), UTF-16 with a BOM ("Unicode text") and
Windows-1252 (plain "CSV" from older Excel, with £, é or ’ as single bytes). Every upload
path (web and command line) reads through here, so each accepts the same files and
refuses the same ones in the same plain words.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import IO

CHUNK = 1 << 20
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
NOT_TEXT = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or other zipped file"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF"),
)
SAVE_AS = "Open it in Excel and use Save As, choosing 'CSV UTF-8 (Comma delimited)'."


class TextFileError(ValueError):
    """A file that is not text in any encoding the service reads, or is empty."""


def detect_encoding(stream: IO[bytes], name: str) -> str:
    """The codec name to read `stream` with; the stream is left where it started.

    A BOM decides; otherwise UTF-8 if every byte sequence is valid UTF-8 (plain ASCII
    included), else Windows-1252 if every byte means a character there.
    """
    start = stream.tell()
    try:
        head = stream.read(CHUNK)
        if not head.strip(b" \t\r\n\x00"):
            raise TextFileError(f"{name} is empty")
        for bom, codec in BOMS:
            if head.startswith(bom):
                stream.seek(start)
                _check_whole(stream, codec, name)
                return codec
        for signature, what in NOT_TEXT:
            if head.startswith(signature):
                raise TextFileError(f"{name} is {what}, not a CSV text file. {SAVE_AS}")
        unmarked = _utf16_without_bom(head)
        for codec in (unmarked, "utf-8", "cp1252") if unmarked else ("utf-8", "cp1252"):
            stream.seek(start)
            if _decodes(stream, codec):
                return codec
        stream.seek(start)
        _check_whole(stream, "cp1252", name)
        raise AssertionError("unreachable: cp1252 failed once and passed again")
    finally:
        stream.seek(start)


def open_text(stream: IO[bytes], name: str) -> IO[str]:
    """A text stream (newlines untranslated, for csv) over an uploaded binary stream."""
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    codec = detect_encoding(stream, name)
    return io.TextIOWrapper(stream, encoding=codec, newline="")


def open_text_path(path: str | Path) -> IO[str]:
    """`open_text` for a file on disk (the command line)."""
    p = Path(path)
    binary = p.open("rb")
    try:
        return open_text(binary, p.name)
    except BaseException:
        binary.close()
        raise


def decode_text(data: bytes, name: str) -> str:
    """The whole text of a small file held in memory."""
    with open_text(io.BytesIO(data), name) as text:
        return text.read()


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without a BOM shows as a NUL beside nearly every ASCII byte."""
    sample = head[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def _decodes(stream: IO[bytes], codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_whole(stream: IO[bytes], codec: str, name: str) -> None:
    """Decode all of `stream`, or say in plain words where it stops being text."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = 0
    lines = 1
    while True:
        chunk = stream.read(CHUNK)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            line = lines + chunk[: max(exc.start, 0)].count(b"\n")
            bad = chunk[exc.start : exc.start + 1] if exc.start < len(chunk) else b""
            which = f" (byte {bad.hex().upper()})" if bad else ""
            raise TextFileError(
                f"{name} cannot be read as text: line {line} has a character no text "
                f"encoding we know uses{which}. {SAVE_AS}"
            ) from None
        if not chunk:
            return
        offset += len(chunk)
        lines += chunk.count(b"\n")


__all__ = ["TextFileError", "decode_text", "detect_encoding", "open_text", "open_text_path"]
