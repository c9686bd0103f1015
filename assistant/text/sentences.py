"""Where sentences and paragraphs are: spans of a document's text (pure rules, no I/O).

Sentences end at . ! ? … (not after an abbreviation or before a lower-case
word), at the stops of scripts that need no space after them (Chinese and Japanese
。．！？, the Devanagari danda । and double danda ॥ of Hindi, Marathi and Nepali, the
Arabic question mark ؟ and Urdu full stop ۔, Armenian ։, Ethiopic ። ፧, Burmese ။, Khmer ។ ៕;
Arabic's full stop is the Latin one), at a space between two runs of Thai (which has no
sentence punctuation: a space is where a Thai sentence ends), at list items and at blank
lines; paragraphs never cross boilerplate, headings or pages. Every span is exact:
`text[start:end]` is the sentence. Chunking packs these sentences; answers quote them.

Chinese and Japanese ；and ： (clause marks) and Armenian ՞ ՜ (written on a word's stressed
vowel, inside it) do not end a sentence.
"""

from __future__ import annotations

import re

from ..types import Document

# Abbreviations after which a full stop does not end a sentence.
_ABBREV = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e eg ie no nos fig figs al inc ltd co corp gen col "
    "lt sgt capt cpt rev hon dept univ approx est vol pp ed eds op cit cf ca supt insp det ch "
    "jan feb mar apr jun jul aug sep sept oct nov dec mt ft u.s u.k a.m p.m vol art sec".split()
)
# Latin stops end a sentence before white space; the full-width stops of Chinese and
# Japanese (。．！？, half-width ｡) end it wherever they stand, with their closing brackets,
# and so do the stops of other scripts (_STOPS), with theirs.
_STOPS = ("\u0964\u0965"  # Devanagari danda, double danda
          "\u061f\u06d4"  # Arabic question mark, Urdu full stop
          "\u0589"  # Armenian full stop
          "\u1362\u1367"  # Ethiopic full stop, question mark
          "\u104b"  # Burmese section mark (its full stop)
          "\u17d4\u17d5")  # Khmer khan, bariyosan
_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)"
                  r"|[\u3002\uff0e\uff01\uff1f\uff61]+[\u300d\u300f\uff09\u3011\"'\u201d\u2019)\]]*"
                  rf"|[{_STOPS}]+[\"'\u201d\u2019\u00bb)\]]*")
# Thai writes no stops: a space between a Thai letter (or vowel or tone mark) and a Thai
# consonant or leading vowel ends a sentence; not one after ๆ or ฯ (repetition and
# abbreviation marks, followed by a space inside a sentence).
_THAI_BREAK = re.compile(r"(?<=[\u0e01-\u0e2e\u0e30-\u0e3a\u0e40-\u0e45\u0e47-\u0e4e])"
                         r"[ \t\u00a0]+(?=[\u0e01-\u0e2e\u0e40-\u0e44])")
_LIST_ITEM = re.compile(r"\n(?=[ \t]*(?:[-*\u2022\u2013]|\d{1,3}[.)])\s)")
_PARA = re.compile(r"\n[ \t]*\n\s*")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence boundaries inside text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    cuts = [start]
    segment = text[start:end]
    for m in _END.finditer(segment):
        stop = start + m.end()
        word = segment[: m.start() + 1].rsplit(None, 1)[-1].lower().rstrip(".").lstrip("(\"'\u201c")
        if word in _ABBREV or re.fullmatch(r"[a-z]", word):
            continue
        nxt = re.match(r"\s*(\S)", text[stop:end])
        if nxt and nxt.group(1).islower():
            continue
        cuts.append(stop)
    for m in _THAI_BREAK.finditer(segment):
        cuts.append(start + m.start())
    for m in _LIST_ITEM.finditer(segment):
        cuts.append(start + m.start())
    # A blank line always ends a sentence: headings and table rows have no full stop.
    for m in _PARA.finditer(segment):
        cuts.append(start + m.start())
    cuts = sorted(set(cuts)) + [end]
    spans = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans


def paragraph_spans(doc: Document, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Paragraphs of doc.text[start:end], never crossing boilerplate, headings or pages."""
    text = doc.text
    end = len(text) if end is None else end
    breaks = [(m.start(), m.end()) for m in _PARA.finditer(text, start, end)]
    breaks += [(a, b) for a, b in doc.skip_spans if a < end and b > start]
    for offset, _level, _title in doc.headings:
        if offset > end:
            continue
        line_end = text.find("\n", offset)
        line_end = len(text) if line_end < 0 else line_end
        breaks += [(x, x) for x in (offset, line_end) if start <= x <= end]
    breaks += [(p, p) for p in doc.page_starts if start <= p <= end]
    breaks.sort()
    spans = []
    pos = start
    for a, b in breaks:
        if a > pos:
            spans.append((pos, a))
        pos = max(pos, b)
    if pos < end:
        spans.append((pos, end))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out



def body_sentences(doc: Document, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of doc.text[start:end] that can be quoted: heading and title lines are left out."""
    heads = {h[0] for h in doc.headings}
    title = " ".join(doc.title.split())
    out: list[tuple[int, int]] = []
    for a, b in paragraph_spans(doc, start, end):
        # A line that only repeats the document's title (a text file's first line) is a title,
        # unless it is a sentence (a one-line file: "The bakery sells rye bread on Fridays.").
        line = " ".join(doc.text[a:b].split())
        if a not in heads and (line != title or line.endswith((".", "!", "?", ".\u201d", '."'))):
            out.extend(_layout_sentences(doc, a, b) if doc.blocks else
                       sentence_spans(doc.text, a, b))
    return out


MAX_ROW_SENTENCE = 300  # a table row up to this long is one sentence, whatever stops it holds


def _layout_sentences(doc: Document, a: int, b: int) -> list[tuple[int, int]]:
    """Sentences of the paragraph doc.text[a:b] where the layout says more than the stops: each
    line of a code block is one (a listing has no full stops, a command none it ends with), and
    so is a short table row (its cells' stops do not end it)."""
    text = doc.text
    whole = [x for x in doc.blocks if x.start < b and x.end > a and (
        x.kind == "code" or (x.kind in ("row", "header") and x.end - x.start <= MAX_ROW_SENTENCE))]
    if not whole:
        return sentence_spans(text, a, b)
    out: list[tuple[int, int]] = []
    pos = a
    for x in sorted(whole, key=lambda x: x.start):
        s, e = max(a, x.start), min(b, x.end)
        if s < pos:
            continue
        out += sentence_spans(text, pos, s)
        if x.kind == "code":
            line_at = s
            for line in text[s:e].split("\n"):
                lead = len(line) - len(line.lstrip())
                if line.strip():
                    out.append((line_at + lead, line_at + len(line.rstrip())))
                line_at += len(line) + 1
        else:
            out.append((s, e))
        pos = e
    out += sentence_spans(text, pos, b)
    return out
