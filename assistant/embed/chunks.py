"""Chunk -> the text the model embeds: its document's title first, unless it opens with it."""

from __future__ import annotations

from ..types import Chunk


def title_prefix(chunk: Chunk, with_title: bool) -> str:
    """What embed_text puts before the chunk's text: its document's title and a newline,
    unless the chunk opens with that title as a Markdown heading ("# Title"), which the
    model would otherwise read twice. (A plain first line that is the title is left as it
    was: the answers' fitted sentence model was trained on vectors with the title put first.)"""
    if not with_title or not chunk.title:
        return ""
    first = chunk.text.lstrip().split("\n", 1)[0]
    if first.startswith("#") and first.lstrip("#").strip() == chunk.title.strip():
        return ""
    return chunk.title + "\n"


def embed_text(chunk: Chunk, with_title: bool) -> str:
    return title_prefix(chunk, with_title) + chunk.text
