"""Every encoding GP systems and spreadsheets save CSV in is read; only what is not text
is refused, in plain words."""

from __future__ import annotations

import codecs
import io

import pytest

from app.domain.text_files import TextFileError, decode_text, detect_encoding, open_text

TEXT = "NHS Number,Forename,Surname\n9990000018,Zoë,O’Brien £5\n"


@pytest.mark.parametrize(
    ("data", "codec"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (b"NHS Number\n9990000018\n", "utf-8"),
    ],
)
def test_each_encoding_is_detected_and_read_back_exactly(data, codec):
    assert detect_encoding(io.BytesIO(data), "list.csv") == codec
    expected = TEXT if "Zoë" in decode_text(data, "list.csv") else "NHS Number\n9990000018\n"
    assert decode_text(data, "list.csv") == expected


def test_the_stream_is_left_at_the_start_and_crlf_is_kept_for_csv():
    stream = io.BytesIO("a,b\r\nZoë,1\r\n".encode("cp1252"))
    assert open_text(stream, "x.csv").read() == "a,b\r\nZoë,1\r\n"


def test_a_late_non_utf8_byte_still_chooses_windows_1252():
    data = ("a\n" * 300_000 + "Renée\n").encode("cp1252")
    assert decode_text(data, "big.csv").endswith("Renée\n")


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   "])
def test_an_empty_file_says_it_is_empty(data):
    with pytest.raises(TextFileError, match=r"^slots\.csv is empty$"):
        decode_text(data, "slots.csv")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04rest of a zip", "is an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1", "Excel 97-2003 workbook"),
        (
            b"a,b\nok,1\nbad\x81\x8d,2\n",
            "line 3 has a character no text encoding we know uses (byte 81)",
        ),
        (codecs.BOM_UTF16_LE + b"a\x00\n\x00\x00\xdc", "cannot be read as text"),
    ],
)
def test_what_is_not_text_is_refused_in_plain_words(data, words):
    with pytest.raises(TextFileError) as caught:
        decode_text(data, "list.csv")
    message = str(caught.value)
    assert words in message and "Save As" in message and "Traceback" not in message
