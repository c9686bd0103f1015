"""PDF: the text layer page by page (pypdf), OCR for pages without one; headings from the
outline or font sizes (pdfheadings.py); lines set in a monospace font as code (pdfcode.py)."""

from __future__ import annotations

import io

from ...errors import IngestError
from ...types import Block
from .. import ocr
from ..base import DEFAULT_LIMITS, OCR_NOTE, Limits, Parsed
from ..metadata import pdf_meta_of
from . import pdfcode, pdfheadings


def load_pdf(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = bool(reader.decrypt(""))  # owner-only protection opens with ""
            except DependencyError:
                raise
            except Exception:
                ok = False
            if not ok:
                raise IngestError("", "encrypted PDF: a password is needed; save an unprotected copy")
        extracted = [pdfheadings.font_runs(page) for page in reader.pages]
        pages = [text for text, _ in extracted]
        meta_title = (reader.metadata.title if reader.metadata else None) or None
    except IngestError:
        raise
    except DependencyError:
        raise IngestError("", "encrypted PDF that needs the `cryptography` package to open "
                              "(pip install cryptography)") from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise IngestError("", f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # pypdf raises a wide variety on malformed files
        raise IngestError("", f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    notes: list[str] = []
    done: list[int] = []
    blank = [i for i, p in enumerate(pages) if not p.strip()]
    if blank:  # scanned pages: no text layer, so read the page image (within the limits)
        texts, ocr_notes = ocr.pdf_pages(data, blank, limits)
        for i, text in texts.items():
            pages[i] = text
        done = [i + 1 for i in blank if pages[i].strip()]
        if done:
            notes.append(OCR_NOTE.format(pages=", ".join(map(str, done))))
        notes += ocr_notes
    if not any(p.strip() for p in pages):
        raise IngestError("", "no text found, not even by OCR (a blank or image-only PDF?)"
                          + "".join(f"; {n}" for n in notes))
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    blocks: list[Block] = []
    for page, (_text, runs) in zip(pages, extracted, strict=True):
        page = page.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        starts.append(offset)
        parts.append(page)
        blocks += pdfcode.code_blocks(page, runs, offset)
        offset += len(page) + 2
    # The outline (bookmarks) when the PDF has one, else lines set larger than the body text.
    headings = pdfheadings.from_outline(reader, parts, starts) or pdfheadings.from_font_sizes(
        parts, [runs for _, runs in extracted], starts)
    title = (str(meta_title).strip() or None) if meta_title else None
    return Parsed("\n\n".join(parts), title, tuple(starts), tuple(headings), tuple(notes),
                  tuple(done), meta=pdf_meta_of(reader), blocks=tuple(blocks))
