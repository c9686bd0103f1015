"""One loader per file format (bytes -> Parsed), found by format name in LOADERS."""

from __future__ import annotations

from ..base import Loader
from .docx import load_docx
from .html import load_html
from .image import load_image
from .pdf import load_pdf
from .text import load_md, load_txt

LOADERS: dict[str, Loader] = {
    "txt": load_txt, "md": load_md, "html": load_html, "pdf": load_pdf, "docx": load_docx,
    "image": load_image,
}
