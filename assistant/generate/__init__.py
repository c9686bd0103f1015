"""Generated answers: an LLM writes the draft, every sentence is then checked against its passage.

    prompt.py     question + numbered passages + conversation -> chat messages
    openai.py     OpenAIGenerator: any OpenAI-compatible chat server, streamed
    claims.py     the draft -> its sentences and the passage numbers each cites
    verify.py     each sentence's facts checked against a verbatim quote -> Answer

REGISTRY maps a generator's name (ASSISTANT_GENERATOR) to what makes it from the
settings; "extractive" is no generator at all (the answer quotes the passages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ..config import Settings
from .openai import OpenAIGenerator
from .prompt import build_messages


class Generator(Protocol):
    """Streams an answer's text for chat messages; raises GeneratorError on any failure."""

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]: ...


REGISTRY: dict[str, Callable[[Settings], Generator]] = {"openai": OpenAIGenerator}

__all__ = ["REGISTRY", "Generator", "OpenAIGenerator", "build_messages"]
