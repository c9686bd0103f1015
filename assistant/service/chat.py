"""OpenAI's chat completions, as this assistant answers them: a request's messages -> the
question and the conversation before it; an Answer -> a completion, or the chunks of a stream.

The messages are the conversation: each user message and the assistant message after it
form one (question, answer) pair of the history, exactly what the chat hands the Answerer
for a follow-up; system and developer messages are read by no one (the answer quotes the
documents, whatever a prompt asks). The content is the chat's answer with its [n] markers;
`message.annotations` (one per marker) and `message.citations` carry the sources. A stream
sends the answer's sentences as text deltas, then one chunk with the annotations and the
citations (and `finish_reason`), then the usage chunk when asked for, then `[DONE]`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Answer, rendered
from .library import RequestError

_ROLES_IGNORED = {"system", "developer"}


@dataclass(frozen=True)
class ChatRequest:
    """What a /v1/chat/completions body asks, checked."""

    model: Any  # checked by Library.model
    question: str
    history: tuple[tuple[str, str], ...]
    stream: bool = False
    include_usage: bool = False
    filters: Any = None  # extension: {"doc_ids": [...], "sources": [...]} as in /v1/search
    prompt: tuple[str, ...] = ()  # every message's text, for usage


def _text(content: Any, where: str) -> str:
    """A message's content as text: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or \
                    not isinstance(part.get("text"), str):
                raise RequestError(f"{where}: only text content parts are supported", where)
            texts.append(part["text"])
        return "\n".join(texts)
    raise RequestError(f"{where} must be a string or a list of text parts", where)


def parse(body: Any) -> ChatRequest:
    """A request body -> ChatRequest; RequestError naming the parameter that is wrong."""
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list", "messages")
    n = body.get("n", 1)
    if n not in (None, 1):
        raise RequestError("n must be 1: there is one answer to a question", "n")
    stream = body.get("stream") or False
    options = body.get("stream_options") or {}
    if not isinstance(stream, bool) or not isinstance(options, dict):
        raise RequestError("stream must be true or false and stream_options an object", "stream")
    turns: list[tuple[str, str]] = []  # (role, text), the ignored roles left out
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise RequestError(f"{where} must be an object with a role", where)
        role = m["role"]
        if role in _ROLES_IGNORED:
            continue
        if role not in ("user", "assistant"):
            raise RequestError(f"{where}.role {role!r} is not supported: this model calls no "
                               "tools", f"{where}.role")
        turns.append((role, _text(m.get("content"), f"{where}.content")))
    if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
        raise RequestError("the last message must be the user's question", "messages")
    history: list[tuple[str, str]] = []
    for i, (role, text) in enumerate(turns[:-1]):
        if role == "user":  # its answer is the assistant message after it, if any
            after = turns[i + 1]
            history.append((text, after[1] if after[0] == "assistant" else ""))
    return ChatRequest(model=body.get("model"), question=turns[-1][1], history=tuple(history),
                       stream=stream, include_usage=bool(options.get("include_usage")),
                       filters=body.get("filters"), prompt=tuple(t for _, t in turns))


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def _extras(answer: Answer, citations: Sequence[dict[str, Any]],
            annotations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the message carries besides its content: sources and the answer's facts."""
    sa = answer.short_answer
    return {"annotations": list(annotations), "citations": list(citations),
            "found": answer.found, "short_answer": sa.to_dict() if sa else None,
            "notes": list(answer.notes)}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(cid: str, model: str, answer: Answer, citations: Sequence[dict[str, Any]],
               annotations: Sequence[dict[str, Any]], used: dict[str, int]) -> dict[str, Any]:
    """The whole answer as one `chat.completion`."""
    message = {"role": "assistant", "content": answer.text, "refusal": None,
               **_extras(answer, citations, annotations)}
    return {"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": used}


def deltas(answer: Answer) -> list[str]:
    """The answer's text in pieces, one per sentence, that add up to exactly `answer.text`."""
    sent, out = "", []
    for i in range(1, len(answer.sentences) + 1):
        prefix = rendered(answer.sentences[:i])
        if prefix.startswith(sent) and answer.text.startswith(prefix) and prefix != sent:
            out.append(prefix[len(sent):])
            sent = prefix
    if answer.text != sent:
        out.append(answer.text[len(sent):] if answer.text.startswith(sent) else answer.text)
    return out if "".join(out) == answer.text else [answer.text]


def chunks(cid: str, model: str, answer: Answer, citations: Sequence[dict[str, Any]],
           annotations: Sequence[dict[str, Any]], used: dict[str, int] | None
           ) -> Iterator[dict[str, Any]]:
    """The `chat.completion.chunk`s of a stream, usage last when `used` is given."""
    created = int(time.time())
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": None}
    extra = {"usage": None} if used is not None else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                     "logprobs": None}], **extra}

    yield chunk({"role": "assistant", "content": ""})
    for piece in deltas(answer):
        yield chunk({"content": piece})
    yield chunk(_extras(answer, citations, annotations), "stop")
    if used is not None:
        yield {**base, "choices": [], "usage": used}


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event: `data: JSON` and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


def error_body(message: str, type: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}
