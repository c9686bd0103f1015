"""Files -> Documents: discovery, one small loader per format, boilerplate detection.

Cleaning never rewrites text: boilerplate is recorded as `skip_spans` so that
every offset still points into the text the user can open and check.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .errors import IngestError
from .types import Document, Skipped

log = logging.getLogger(__name__)

SUPPORTED = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html",
             ".pdf": "pdf", ".docx": "docx"}
IGNORE_FILE = ".assistantignore"
MAX_FILE_BYTES = 200 * 1024 * 1024


def discover(docs_dir: Path) -> tuple[list[Path], list[Skipped]]:
    """Supported files under `docs_dir` (recursive, sorted), and what was passed over.

    Hidden files, Office's "~$" owner files, paths matching `.assistantignore`
    (see `ignored`) and symlinks that lead outside the folder are never read.
    """
    root = docs_dir.resolve()
    if not root.is_dir():
        raise IngestError(str(docs_dir), "not a folder; pass --docs DIR with your documents")
    patterns = _ignore_patterns(root)
    files: list[Path] = []
    skipped: list[Skipped] = []
    for path in sorted(docs_dir.rglob("*")):
        rel = path.relative_to(docs_dir).as_posix()
        # Hidden files, and the "~$name.docx" owner files Office leaves next to open ones.
        if any(part.startswith((".", "~$")) for part in Path(rel).parts):
            continue
        if ignored(rel, patterns):
            continue
        if path.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # a link to nothing, or a loop
                skipped.append(Skipped(source_of(path, docs_dir),
                                       "broken or looping symlink; not followed"))
                continue
            if not target.is_relative_to(root):
                skipped.append(Skipped(source_of(path, docs_dir),
                                       "symlink to a place outside the documents folder; not followed"))
                continue
        if path.is_dir():
            continue
        if not path.is_file():
            skipped.append(Skipped(source_of(path, docs_dir), "not a regular file"))
            continue
        if path.suffix.lower() not in SUPPORTED:
            skipped.append(Skipped(source_of(path, docs_dir),
                                   f"unsupported file type {path.suffix or '(none)'!s}; "
                                   f"supported: {', '.join(sorted(SUPPORTED))}"))
            continue
        files.append(path)
    return files, skipped


def ignored(rel: str, patterns: list[str]) -> bool:
    """True when `rel` (a posix path inside the folder) or a folder above it matches a pattern.

    Patterns are fnmatch patterns tried on the whole relative path and on the
    name, as in .gitignore: `drafts` or `drafts/` leaves out everything in
    every folder called drafts; `*.tmp.md` or `notes/old.txt` match files.
    """
    parts = rel.split("/")
    for p in patterns:
        folder = p.endswith("/")
        p = p.strip("/")  # a leading "/" (anchored in .gitignore) is simply dropped
        if not p:
            continue
        if not folder and (fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(parts[-1], p)):
            return True
        for i in range(1, len(parts)):
            if fnmatch.fnmatch("/".join(parts[:i]), p) or fnmatch.fnmatch(parts[i - 1], p):
                return True
    return False


def _ignore_patterns(root: Path) -> list[str]:
    f = root / IGNORE_FILE
    if not f.is_file():
        return []
    lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def source_of(path: Path, docs_dir: Path) -> str:
    """The path shown to users: the folder's name, then the path inside it."""
    return f"{docs_dir.resolve().name}/{path.relative_to(docs_dir).as_posix()}"


def doc_id_of(path: Path, docs_dir: Path) -> str:
    rel = path.relative_to(docs_dir).as_posix()
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()[:16]


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path, docs_dir: Path) -> bytes:
    """The file's bytes; IngestError if it is over the size limit or cannot be read.

    The size is checked before reading, so a huge file is never loaded into memory.
    """
    source = source_of(path, docs_dir)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(source, f"file is {size / 2**20:.0f} MB; the limit is "
                                      f"{MAX_FILE_BYTES // 2**20} MB")
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(source, f"cannot read file: {exc.strerror or exc}") from None


def load_document(path: Path, docs_dir: Path, data: bytes | None = None) -> Document:
    """Read one file into a Document; raises IngestError naming the file and the problem."""
    source = source_of(path, docs_dir)
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(source, f"unsupported file type {path.suffix}")
    if data is None:
        data = read_file(path, docs_dir)
    if not data:
        raise IngestError(source, "empty file (0 bytes)")
    loader = _LOADERS[fmt]
    try:
        text, title, page_starts, headings, notes = loader(data)
    except IngestError as exc:
        raise IngestError(source, exc.reason) from None
    except (RecursionError, MemoryError, ValueError, LookupError, AttributeError, TypeError,
            AssertionError, UnicodeError) as exc:
        # A parser choking on one odd file must not stop the whole run; keep the traceback.
        log.warning("%s: the %s reader failed", source, fmt, exc_info=True)
        raise IngestError(source, f"could not be read as {fmt} ({type(exc).__name__}: "
                                  f"{str(exc)[:200]})") from None
    if not text.strip():
        raise IngestError(source, "no text found in the file")
    skip = boilerplate_spans(text)
    if not title:
        title = _first_line(text, skip) or path.stem
    return Document(
        doc_id=doc_id_of(path, docs_dir),
        source=source,
        path=str(path.resolve()),
        title=" ".join(title.split())[:200],  # one line, whatever the source held
        text=text,
        format=fmt,
        content_hash=file_hash(data),
        page_starts=tuple(page_starts),
        headings=tuple(headings),
        skip_spans=tuple(skip),
        notes=tuple(notes),
    )


Loaded = tuple[str, str | None, list[int], list[tuple[int, int, str]], list[str]]


# --- text formats -----------------------------------------------------------

def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Bytes -> str with universal newlines, as `Path.read_text()` would give for UTF-8.

    UTF-16 when there is a BOM (or the bytes are plainly UTF-16 without one),
    else UTF-8 (BOM or not), then cp1252, then latin-1; a note says which
    fallback was used. Binary data is refused.
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
            try:
                text = data.decode("cp1252")
                notes.append("not valid UTF-8; decoded as cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
                notes.append("not valid UTF-8; decoded as latin-1")
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(8, len(text[:65536]) // 100):
        raise IngestError("", "binary data (control characters), not a text file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, notes


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


def _load_txt(data: bytes) -> Loaded:
    text, notes = decode_text(data)
    return text, None, [], [], notes


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _load_md(data: bytes) -> Loaded:
    text, notes = decode_text(data)
    headings = []
    in_fence = False
    offset = 0
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence:
            m = _ATX.match(line)
            if m:
                headings.append((offset, len(m.group(1)), m.group(2).strip()))
        offset += len(line) + 1
    title = next((h[2] for h in headings if h[1] == 1), None) or (headings[0][2] if headings else None)
    return text, title, [], headings, notes


# --- HTML -------------------------------------------------------------------

_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "td", "th",
          "pre", "blockquote", "dd", "dt", "dl", "figcaption", "figure", "br", "hr", "address",
          "h1", "h2", "h3", "h4", "h5", "h6", "caption", "summary", "details", "body"}
_DROP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "header", "aside",
         "form", "iframe", "object", "embed", "button", "select", "head", "canvas"}


def _load_html(data: bytes) -> Loaded:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import CData, PreformattedString

    raw, notes = decode_text(data)
    soup = BeautifulSoup(raw, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    blocks: list[tuple[str, int]] = []  # (text, heading level or 0)
    buf: list[str] = []

    def flush(level: int = 0) -> None:
        text = re.sub(r"\s+", " ", "".join(buf)).strip()
        buf.clear()
        if text:
            blocks.append((text, level))

    def walk(node: Tag) -> None:
        for child in node.children:
            # Comments, <!DOCTYPE>, <?xml ...?> are not text; CDATA is.
            if isinstance(child, PreformattedString) and not isinstance(child, CData):
                continue
            if isinstance(child, NavigableString):
                buf.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name in _DROP:
                    continue
                if name in _BLOCK:
                    flush()
                    walk(child)
                    flush(int(name[1]) if re.fullmatch(r"h[1-6]", name) else 0)
                else:
                    walk(child)

    walk(soup)
    flush()
    text_parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    offset = 0
    for block, level in blocks:
        if level:
            headings.append((offset, level, block))
        text_parts.append(block)
        offset += len(block) + 2
    if not title:
        title = next((h[2] for h in headings if h[1] == 1), None)
    return "\n\n".join(text_parts), title, [], headings, notes


# --- PDF --------------------------------------------------------------------

def _load_pdf(data: bytes) -> Loaded:
    import io

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
        pages = [page.extract_text() or "" for page in reader.pages]
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
    if not any(p.strip() for p in pages):
        raise IngestError("", "no extractable text (a scanned PDF?); OCR is not supported")
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        page = page.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    return "\n\n".join(parts), (str(meta_title).strip() or None) if meta_title else None, starts, [], []


# --- DOCX -------------------------------------------------------------------

def _load_docx(data: bytes) -> Loaded:
    import io
    import zipfile

    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # python-docx/lxml raise several types on bad packages
        raise IngestError("", f"broken .docx file ({type(exc).__name__}: {exc})") from None
    parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    offset = 0
    title = (document.core_properties.title or "").strip() or None

    def add(text: str, level: int | None = None) -> None:
        nonlocal offset
        text = text.strip()
        if not text:
            return
        if level is not None:
            headings.append((offset, level, text))
        parts.append(text)
        offset += len(text) + 2

    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(block, document)
            style = (para.style.name if para.style is not None else "") or ""
            m = re.match(r"Heading (\d)", style)
            # The Title style sits above Heading 1, so it stays at the root of heading paths.
            level = int(m.group(1)) if m else (0 if style == "Title" else None)
            if style == "Title" and not title:
                title = para.text.strip()
            add(para.text, level)
        elif tag == "tbl":
            for row in Table(block, document).rows:
                # A merged cell is the same object repeated; equal values in
                # different cells are real data and are kept.
                cells = {id(c): c.text.strip() for c in row.cells}.values()
                add(" | ".join(c for c in cells if c))
    if not title:
        title = next((h[2] for h in headings), None)
    return "\n\n".join(parts), title, [], headings, []


_LOADERS: dict[str, Callable[[bytes], Loaded]] = {
    "txt": _load_txt, "md": _load_md, "html": _load_html, "pdf": _load_pdf, "docx": _load_docx,
}


# --- boilerplate ------------------------------------------------------------

_NOISE = re.compile(
    r"(hide ad|advertisement|advert|sponsored( content)?|skip to (main )?content|"
    r"share (this|on \w+)( article| story| page)?|click here|read more|"
    r"(sign up|subscribe)( (to|for) (our|the) \w+)?( newsletter)?|follow us( on \w+)?|"
    r"accept (all )?cookies|cookie (settings|policy)|back to top|print this page|"
    r"(tweet|pin it|email this))[.!:]?",
    re.IGNORECASE,
)


def boilerplate_spans(text: str) -> list[tuple[int, int]]:
    """Spans of whole lines that are scraped-page noise.

    A line is noise when it is short and either matches a known ad/navigation
    phrase or repeats at least three times in the document (real prose rarely
    repeats a line verbatim; ad slots and share buttons do).
    """
    lines = text.split("\n")
    stripped = [ln.strip() for ln in lines]
    counts = Counter(s.lower() for s in stripped if s)
    spans: list[tuple[int, int]] = []
    offset = 0
    for line, s in zip(lines, stripped, strict=True):
        end = offset + len(line)
        short = 0 < len(s) <= 40 and len(s.split()) <= 5
        if short and re.search(r"[A-Za-z]", s) and not s.startswith("#"):
            repeated = counts[s.lower()] >= 3 and not s.endswith((".", "?", ":"))
            if _NOISE.fullmatch(s) or repeated:
                spans.append((offset, min(end + 1, len(text))))
        offset = end + 1
    return spans


def _first_line(text: str, skip: list[tuple[int, int]]) -> str | None:
    offset = 0
    for line in text.split("\n"):
        inside = any(s <= offset < e for s, e in skip)
        if line.strip() and not inside:
            return line.strip()[:150]
        offset += len(line) + 1
    return None
