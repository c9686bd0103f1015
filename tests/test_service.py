"""The pure parts of the API (assistant/service): reading OpenAI messages as a conversation,
stream deltas, annotations, the key policy, the worker pool and error messages. The real
server and clients are tests/test_api.py's and tests/test_mcp_stdio.py's."""

from __future__ import annotations

import os
import time

import anyio
import pytest

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.service import chat
from assistant.service.fields import marker_annotations
from assistant.service.keys import Keys, is_loopback
from assistant.service.library import RequestError, public
from assistant.service.pool import Busy, Pool
from assistant.types import Answer, Statement, rendered


def test_messages_become_the_question_and_the_chat_history() -> None:
    req = chat.parse({"model": "assistant", "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "What did the review find?"},
        {"role": "assistant", "content": "It found progress. [1]"},
        {"role": "developer", "content": "Be short."},
        {"role": "user", "content": [{"type": "text", "text": "And who"},
                                     {"type": "text", "text": "led it?"}]},
    ], "stream": True, "stream_options": {"include_usage": True}})
    assert req.question == "And who\nled it?"
    assert req.history == (("What did the review find?", "It found progress. [1]"),)
    assert req.stream and req.include_usage and req.model == "assistant"
    # Two user messages in a row: the first is a turn without an answer.
    req = chat.parse({"model": "assistant", "messages": [
        {"role": "user", "content": "Hello"}, {"role": "user", "content": "Why?"}]})
    assert req.history == (("Hello", ""),) and req.question == "Why?"


@pytest.mark.parametrize(("body", "param"), [
    ([], None),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "assistant", "content": "x"}]}, "messages"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content"),
    ({"messages": [{"role": "function", "content": "x"}, {"role": "user", "content": "q"}]},
     "messages[0].role"),
    ({"messages": [{"content": "x"}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": "q"}], "stream": "yes"}, "stream"),
    ({"messages": [{"role": "user", "content": "q"}], "n": 3}, "n"),
])
def test_bad_messages_name_their_parameter(body, param) -> None:
    with pytest.raises(RequestError) as err:
        chat.parse(body)
    assert err.value.param == param and err.value.status == 400


def _answer() -> Answer:
    said = (Statement("First sentence.", (1,), True, "\n\n"), Statement("Second one.", (2,), True),
            Statement("Third, from [1] again.", (1,), True))
    return Answer(question="q", text=rendered(said), found=True, sentences=said)


def test_stream_deltas_add_up_to_the_answer() -> None:
    answer = _answer()
    pieces = chat.deltas(answer)
    assert "".join(pieces) == answer.text and len(pieces) == 3
    odd = Answer(question="q", text="Not its sentences.", found=True,
                 sentences=answer.sentences)
    assert chat.deltas(odd) == ["Not its sentences."]
    assert chat.deltas(Answer(question="q", text="Nothing found.", found=False)) == \
        ["Nothing found."]


def test_every_marker_gets_an_annotation_at_its_place() -> None:
    text = _answer().text
    cites = [{"n": n, "id": f"d:{n}", "doc_id": "d", "path": "docs/a.txt", "title": "A",
              "locator": f"line {n}", "quote": f"q{n}", "csl": {"URL": "https://x.org"}}
             for n in (1, 2)]
    notes = marker_annotations(text, cites)  # type: ignore[arg-type]
    assert [text[a["file_citation"]["start_index"]:a["file_citation"]["end_index"]]
            for a in notes] == ["[1]", "[2]", "[1]", "[1]"]
    assert notes[1]["file_citation"]["locator"] == "line 2"
    assert notes[0]["file_citation"]["url"] == "https://x.org"


@pytest.mark.parametrize(("host", "auth", "keys", "required"), [
    ("127.0.0.1", None, None, False),
    ("localhost", None, None, False),
    ("::1", None, None, False),
    ("127.0.0.1", "u:p", None, True),
    ("0.0.0.0", None, None, True),
    ("192.168.1.5", None, None, True),
    ("127.0.0.1", None, "k1", True),
])
def test_keys_are_needed_unless_loopback_without_login(host, auth, keys, required) -> None:
    s = Settings.load(env={}, host=host, auth=auth, api_keys=keys)
    policy = Keys(s)
    assert policy.required is required
    assert policy.allows(None) is not required
    if keys:
        assert policy.allows("Bearer k1") and policy.allows("bearer  k1 ")
        assert not policy.allows("Basic k1") and not policy.allows("Bearer k2")


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.5") and is_loopback("[::1]") and is_loopback("LOCALHOST")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_a_file_of_keys_is_read_again_when_it_changes(tmp_path) -> None:
    f = tmp_path / "keys"
    f.write_text("# the team's keys\nalpha-key\n\n  beta-key  \n", encoding="utf-8")
    policy = Keys(Settings.load(env={"ASSISTANT_API_KEYS": f"@{f}"}))
    assert policy.allows("Bearer alpha-key") and policy.allows("Bearer beta-key")
    assert not policy.allows("Bearer # the team's keys")
    f.write_text("gamma-key\n", encoding="utf-8")
    later = time.time() + 5
    os.utime(f, (later, later))
    assert policy.allows("Bearer gamma-key") and not policy.allows("Bearer alpha-key")
    f.unlink()
    assert not policy.allows("Bearer gamma-key")  # unreadable: every key refused
    with pytest.raises(AssistantError, match="not a readable file"):
        Keys(Settings.load(env={"ASSISTANT_API_KEYS": f"@{tmp_path / 'missing'}"}))


def test_keys_are_kept_as_digests_and_never_shown() -> None:
    s = Settings.load(env={"ASSISTANT_API_KEYS": "sk-visible-123,sk-other-456"})
    assert "sk-visible-123" not in repr(s) and "sk-visible-123" not in str(s.model_dump())
    policy = Keys(s)
    assert "sk-visible-123" not in repr(vars(policy))
    for bad in ("sk-visible-123,,x", "sk visible", "@"):
        with pytest.raises(AssistantError) as err:
            Settings.load(env={"ASSISTANT_API_KEYS": bad})
        assert "visible" not in str(err.value) and "ASSISTANT_API_KEYS" in str(err.value)


def test_a_full_pool_refuses_at_once_and_frees_its_places() -> None:
    async def main() -> list[str]:
        pool = Pool(workers=1, queue=1)
        hold = anyio.Event()
        events: list[str] = []

        def slow(name: str) -> str:
            anyio.from_thread.run(hold.wait)
            return name

        async def run(name: str) -> None:
            try:
                events.append(await pool.run(slow, name))
            except Busy:
                events.append(f"busy {name}")

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "a")  # runs
            await anyio.sleep(0.05)
            tg.start_soon(run, "b")  # waits: the queue's one place
            await anyio.sleep(0.05)
            await run("c")  # refused at once, while a and b hold their places
            hold.set()
        await run("d")  # everything done: room again
        return events

    # b ran after a (one worker), d found room once both were done.
    assert anyio.run(main) == ["busy c", "a", "b", "d"]


def test_client_messages_carry_no_server_paths() -> None:
    msg = "no index in /srv/assistant/index/: run `assistant index` (see https://x.org/a/b)"
    assert public(AssistantError(msg)) == \
        "no index in index: run `assistant index` (see https://x.org/a/b)"
