"""PNG and JPEG images: one page of text read by OCR."""

from __future__ import annotations

from ...errors import IngestError
from .. import ocr
from ..base import DEFAULT_LIMITS, OCR_NOTE, Limits, Parsed


def load_image(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Parsed:
    """A PNG/JPEG file is one page of OCR text."""
    text = ocr.image_text(data, limits)
    if not text:
        raise IngestError("", "no text found in the image by OCR")
    return Parsed(text, None, (0,), (), (OCR_NOTE.format(pages="1"),), (1,))
