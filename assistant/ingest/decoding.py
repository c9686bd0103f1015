"""Bytes of a text file -> str: UTF-8, UTF-16 (with or without a BOM), else a legacy encoding.

Every offset in the index points into the text decoded here, so it must be what
a person sees when opening the file: `Path.read_text()`'s universal newlines,
and the encoding the file was saved in (charset-normalizer finds it when the
bytes are not UTF-8).
"""

from __future__ import annotations

from ..errors import IngestError


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Bytes -> str with universal newlines, as `Path.read_text()` would give for UTF-8.

    UTF-16 when there is a BOM (or the bytes are plainly UTF-16 without one),
    else UTF-8 (BOM or not), else the legacy encoding charset-normalizer finds
    (cp1252, cp1251, Shift-JIS ...; see `_legacy`); a note says which.
    Binary data is refused.
    """
    notes: list[str] = []
    utf16 = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else None
    if utf16 is None and b"\x00" in data[:65536]:
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise IngestError("", "binary data (NUL bytes), not a text file")
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            raise IngestError("", "not valid UTF-16 text (binary data?)") from None
        notes.append("decoded as UTF-16" + ("" if utf16 == "utf-16" else " without a byte-order mark"))
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            encoding = _legacy(data)
            text = data.decode(encoding)
            notes.append(f"not valid UTF-8; decoded as {encoding}")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(8, len(text[:65536]) // 100):
        raise IngestError("", "binary data (control characters), not a text file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, notes


# The encodings documents are saved in when not UTF-8: Windows and ISO code pages, KOI8,
# and the East Asian ones. DOS and Mac code pages are left out: on a short text they fit
# as well as the right one and would be picked for it (cp775 for a French cp1252 line).
LEGACY_ENCODINGS = ["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256",
                    "cp1257", "cp1258", "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_15",
                    "koi8_r", "koi8_u", "cp932", "shift_jis", "euc_jp", "iso2022_jp", "gb18030",
                    "big5", "euc_kr", "cp949"]


def _legacy(data: bytes) -> str:
    """The legacy encoding of non-UTF-8 text, as charset-normalizer finds it.

    Western text fits cp1252 and cp1250 alike when it has no letter that tells
    them apart; cp1252, the commonest, wins such a tie. latin-1 (which decodes
    anything) when nothing fits.
    """
    from charset_normalizer import from_bytes

    found = list(from_bytes(data[:262144], cp_isolation=LEGACY_ENCODINGS))
    if not found:
        return "latin-1"
    best = found[0]
    tied = {e for m in found if (m.percent_chaos, m.percent_coherence)
            == (best.percent_chaos, best.percent_coherence)
            for e in (m.encoding, *m.could_be_from_charset)}
    encoding = "cp1252" if "cp1252" in tied else best.encoding
    try:
        data.decode(encoding)
    except UnicodeDecodeError:  # judged on a prefix: a later byte may not fit
        return "latin-1"
    return encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the bytes look like UTF-16 text with no BOM.

    Mostly-Latin UTF-16 has a zero in every other byte and almost none in the
    other half; binary data with NUL bytes does not look like that.
    """
    sample = data[:65536]
    if len(data) % 2 or len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    if zeros_odd >= 0.6 * len(odd) and zeros_even <= 0.02 * len(even):
        return "utf-16-le"
    if zeros_even >= 0.6 * len(even) and zeros_odd <= 0.02 * len(odd):
        return "utf-16-be"
    return None
