"""Files -> Documents: discover a folder, read each file with its format's loader, keep offsets exact.

    discover.py   which files of a folder are read (ignore rules, symlinks, types), ids, size limit
    document.py   one file -> Document (loader, metadata, title, boilerplate as skip spans)
    base.py       Parsed and the Loader protocol; formats/ holds one loader per format
    decoding.py   the encoding of a text file; metadata.py the bibliographic metadata of a file
    ocr.py        scanned pages and images; upload.py files sent through the chat
"""

from __future__ import annotations

from .base import Loader, Parsed
from .discover import (
    IGNORE_FILE,
    MAX_FILE_BYTES,
    REFERENCES_FILE,
    SUPPORTED,
    discover,
    doc_id_of,
    file_hash,
    ignored,
    read_file,
    source_of,
)
from .document import boilerplate_spans, load_document

__all__ = ["IGNORE_FILE", "MAX_FILE_BYTES", "REFERENCES_FILE", "SUPPORTED", "Loader", "Parsed",
           "boilerplate_spans", "discover", "doc_id_of", "file_hash", "ignored", "load_document",
           "read_file", "source_of"]
