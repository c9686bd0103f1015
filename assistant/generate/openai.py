"""Chat messages -> answer text streamed from an OpenAI-compatible chat server.

Works with anything that speaks the OpenAI chat-completions protocol: a
llama.cpp server, Ollama, vLLM, LM Studio or a hosted API. The text that comes
back is a draft: verify.py checks every sentence against the passage it
cites before it becomes an Answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ..config import Settings
from ..errors import GeneratorError

log = logging.getLogger(__name__)


class OpenAIGenerator:
    """A chat-completions client for one server; holds the connection pool and the model name."""

    def __init__(self, settings: Settings) -> None:
        if not settings.llm_base_url:
            raise GeneratorError(
                "no generator server is configured: set ASSISTANT_LLM_BASE_URL (or --llm-base-url)"
            )
        self.base_url = settings.llm_base_url
        self.timeout = float(settings.llm_timeout)
        self.max_tokens = settings.llm_max_tokens
        self._model = settings.llm_model
        self._api_key = settings.llm_api_key or "not-needed"
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise GeneratorError("the openai package is missing: pip install openai") from None
            # No retries: a server that is down or stalled must not multiply the wait.
            self._client = openai.OpenAI(base_url=self.base_url, api_key=self._api_key,
                                         timeout=self.timeout, max_retries=0)
        return self._client

    def model(self) -> str:
        """The configured model, or the first one the server lists (llama.cpp serves one)."""
        if self._model is None:
            models = self._call(lambda: list(self.client.models.list()))
            if not models:
                raise GeneratorError(f"the generator at {self.base_url} lists no models: "
                                     "set ASSISTANT_LLM_MODEL (or --llm-model)")
            self._model = str(models[0].id)
        return self._model

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        """Yield the answer's text piece by piece; GeneratorError on any failure or timeout.

        `timeout` bounds every wait for the server and, checked between pieces,
        the whole answer, so a server that trickles tokens cannot hold us longer
        than about twice the timeout.
        """
        deadline = time.monotonic() + self.timeout
        model = self.model()
        stream = self._call(lambda: self.client.chat.completions.create(
            model=model, messages=list(messages), stream=True, temperature=0.0,
            max_tokens=self.max_tokens))
        pieces = iter(stream)
        try:
            while True:
                chunk = self._call(lambda: next(pieces, None))
                if chunk is None:
                    return
                if time.monotonic() > deadline:
                    raise GeneratorError(f"the generator at {self.base_url} took longer than "
                                         f"{self.timeout:g} s (ASSISTANT_LLM_TIMEOUT)")
                choices = getattr(chunk, "choices", None) or []
                piece = choices[0].delta.content if choices and choices[0].delta else None
                if piece:
                    yield piece
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing a broken stream must not mask its error
                    log.debug("closing the generator stream failed", exc_info=True)

    def complete(self, messages: Sequence[dict[str, str]]) -> str:
        """The whole answer at once (still streamed underneath, so the timeout holds)."""
        return "".join(self.stream(messages))

    def _call(self, fn: Any) -> Any:
        """Run one client call and turn its failures into a GeneratorError that says what to do."""
        import httpx
        import openai

        where = self.base_url
        try:
            return fn()
        except openai.APITimeoutError:
            raise GeneratorError(f"the generator at {where} did not answer within "
                                 f"{self.timeout:g} s (ASSISTANT_LLM_TIMEOUT)") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise GeneratorError(f"cannot reach the generator at {where} ({_short(cause)}); "
                                 "is the server running?") from None
        except openai.APIStatusError as exc:
            raise GeneratorError(f"the generator at {where} returned HTTP {exc.status_code}: "
                                 f"{_short(exc.message)}") from None
        except openai.OpenAIError as exc:
            raise GeneratorError(f"the generator at {where} failed: {_short(exc)}") from None
        except httpx.TimeoutException:
            raise GeneratorError(f"the generator at {where} stopped answering for "
                                 f"{self.timeout:g} s (ASSISTANT_LLM_TIMEOUT)") from None
        except httpx.HTTPError as exc:
            raise GeneratorError(f"the connection to the generator at {where} broke: "
                                 f"{_short(exc)}") from None


def _short(exc: object, limit: int = 200) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "\u2026"
