"""Reference styles: one registry of every style the CLI, the chat and the exports offer.

A style is a CSL file rendered by citeproc-py (APA, Harvard, Chicago: in-text
citations and a reference list), an export format for reference managers
(BibTeX, RIS, CSL-JSON) or "numbered" (the [n] markers and a numbered list, the
chat only). The CSL files in csl/ come from the CSL project
(https://citationstyles.org/, CC BY-SA 3.0); see csl/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

CSL_DIR = Path(__file__).resolve().parent / "csl"


@dataclass(frozen=True)
class Style:
    """One reference style: how it is made and what file a list in it is saved as."""

    name: str
    kind: Literal["csl", "export", "numbered"]
    csl_file: str = ""  # with kind "csl": the style file in csl/
    suffix: str = ".txt"  # a reference list in this style, saved as a file

    @property
    def path(self) -> Path:
        return CSL_DIR / self.csl_file


STYLES: dict[str, Style] = {s.name: s for s in (
    Style("apa", "csl", "apa.csl"),
    Style("harvard", "csl", "harvard-cite-them-right.csl"),
    Style("chicago", "csl", "chicago-author-date-16th-edition.csl"),
    Style("bibtex", "export", suffix=".bib"),
    Style("ris", "export", suffix=".ris"),
    Style("csl-json", "export", suffix=".json"),
    Style("numbered", "numbered"),
)}
CSL_STYLES: tuple[str, ...] = tuple(n for n, s in STYLES.items() if s.kind == "csl")
EXPORTS: tuple[str, ...] = tuple(n for n, s in STYLES.items() if s.kind == "export")
ANSWER_STYLES: tuple[str, ...] = CSL_STYLES + EXPORTS  # `assistant ask --style`
UI_STYLES: tuple[str, ...] = tuple(STYLES)  # the chat's "Reference style"
DEFAULT = "apa"
