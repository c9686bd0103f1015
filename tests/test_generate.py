"""Generated answers through the product's own path, against a real llama.cpp server.

SmolLM2-135M writes poor answers and rarely cites, so these tests assert on
structure and on verification - exact quotes, renumbered markers, unverified
sentences marked - never on wording.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import DATA, assert_exact, make_assistant
from llmserver import canned_server, failing_server, free_port, stalled_server
from ui_server import start_app

from assistant.cli import main
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.generate import OpenAIGenerator, build_messages
from assistant.generate.claims import split_claims
from assistant.generate.verify import verify
from assistant.text.passages import candidate_sentences
from assistant.types import UNVERIFIED, Answer, Statement

DOCS = DATA / "generate"
QUESTION = "When did the Kelling harbour bridge open?"


@pytest.fixture(scope="module")
def gen_index(tmp_path_factory, embedder) -> Path:
    index_dir = tmp_path_factory.mktemp("gen") / "index"
    make_assistant(index_dir, embedder, DOCS).index()
    return index_dir


def assistant_for(index_dir: Path, embedder, **over):
    """Short answers; a timeout generous enough for a busy 2-core CI machine."""
    return make_assistant(index_dir, embedder, DOCS, **{"llm_max_tokens": 96,
                                                        "llm_timeout": 180.0, **over})


def assert_checked(assistant, answer: Answer) -> None:
    """The structure every generated answer must have, whatever the model wrote."""
    assert_exact(assistant, answer)
    numbers = [c.n for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    used = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert used == set(numbers)  # no marker without a citation, no citation without a marker
    hit_chunks = {h.chunk.chunk_id for h in answer.hits}
    for c in answer.citations:
        assert c.verified in (True, False)
        assert c.chunk.chunk_id in hit_chunks  # only passages that were given
        doc = assistant.answerer.retriever().store.documents[c.chunk.doc_id]
        assert any(a <= c.start and c.end <= b for a, b in c.chunk.spans)
        assert c.quote.strip() == c.quote and doc.text[c.start:c.end] == c.quote
    for c in answer.citations:
        if not c.verified:  # an unverified citation is flagged right after its sentence
            assert re.search(rf"\[{c.n}\](\[\d+\])* \(unverified\)", answer.text)
    assert answer.found == (answer.checked > 0)  # answered, verified or not
    assert not answer.fallback
    # The sentences as data say what the text says: in order, with the same markers.
    at = 0
    for s in answer.sentences:
        at = answer.text.index(s.render(), at) + len(s.render())
        assert s.verified is None or all(answer.citations[n - 1].verified is s.verified
                                         for n in s.cited)
    assert {n for s in answer.sentences for n in s.cited} == set(numbers)


# --- against the real server ---------------------------------------------------


@pytest.mark.llm
def test_streamed_answer_grows_then_ends_checked(llm_server, gen_index, embedder):
    assistant = assistant_for(gen_index, embedder, generator="openai", llm_base_url=llm_server)
    answers = list(assistant.answerer.ask_stream(QUESTION))
    drafts, final = answers[:-1], answers[-1]
    assert len(drafts) >= 2  # token by token, not all at once
    for a, b in zip(drafts, drafts[1:], strict=False):
        assert b.text.startswith(a.text) and len(b.text) > len(a.text)
        assert a.citations == ()
    assert_checked(assistant, final)
    assert final.hits and final.hits == drafts[-1].hits


@pytest.mark.llm
def test_page_can_switch_generator_per_question(llm_server, gen_index, embedder):
    assistant = assistant_for(gen_index, embedder, llm_base_url=llm_server)  # extractive default
    extractive = assistant.ask(QUESTION)
    assert all(c.verified is None for c in extractive.citations) and "1894" in extractive.text
    generated = assistant.ask(QUESTION, generator="openai")
    assert_checked(assistant, generated)
    assert generated.text != extractive.text
    with pytest.raises(AssistantError, match="generator must be"):
        assistant.ask(QUESTION, generator="gpt")


@pytest.mark.llm
def test_verification_of_real_model_output(llm_server, gen_index, embedder):
    """The model's own draft, plus a bad marker, a false claim and a verbatim one, through verify."""
    assistant = assistant_for(gen_index, embedder, llm_base_url=llm_server)
    retriever = assistant.answerer.retriever()
    hits = retriever.search(QUESTION, k=5)
    gen = OpenAIGenerator(assistant.settings)
    draft = gen.complete(build_messages(QUESTION, hits))
    assert draft.strip()
    docs = retriever.store.documents
    first = docs[hits[0].chunk.doc_id]
    verbatim = max(candidate_sentences(hits[:1], docs), key=lambda s: len(s.text)).text
    doctored = (f"{draft.strip()}\n\n{verbatim} [1] "
                "The bridge was painted purple by visitors from Mars in 2077 [1]. "
                f"Nothing supports this number [{len(hits) + 7}].")
    answer = verify(QUESTION, doctored, hits, docs, embedder, assistant.analyzer)
    assert_checked(assistant, answer)
    assert f"[{len(hits) + 7}]" not in answer.text
    assert any(f"[{len(hits) + 7}]" in n for n in answer.notes)
    assert re.search(r"Mars in 2077\. \[\d+\] \(unverified\)", answer.text)
    quoted = [c for c in answer.citations if c.quote == verbatim]
    assert quoted and quoted[0].verified is True and quoted[0].chunk.doc_id == first.doc_id
    assert answer.found


@pytest.mark.llm
def test_cli_streams_tokens_then_prints_the_checked_answer(llm_server, gen_index, capsys):
    code = main(["ask", QUESTION, "--index", str(gen_index), "--generator", "openai",
                 "--llm-base-url", llm_server, "--llm-timeout", "180"])
    out = capsys.readouterr().out
    assert code == 0
    draft, sep, checked = out.partition("--- checked against the sources ---")
    assert sep and draft.strip() and checked.strip()


@pytest.mark.llm
def test_cli_json_carries_verification(llm_server, gen_index, capsys):
    code = main(["ask", QUESTION, "--index", str(gen_index), "--generator", "openai",
                 "--llm-base-url", llm_server, "--llm-timeout", "180", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["question"] == QUESTION
    for c in data["citations"]:
        assert c["verified"] in (True, False) and c["quote"] and c["end"] > c["start"]


@pytest.mark.llm
def test_eval_squad_measures_the_generator(llm_server, tmp_path, capsys):
    args = ["eval", "squad", str(DATA / "squad-tiny.json"), "--cache", str(tmp_path / "cache"),
            "--max-questions", "3", "--no-unanswerable", "--json"]
    assert main(args) == 0
    extractive = json.loads(capsys.readouterr().out)
    assert main([*args, "--generator", "openai", "--llm-base-url", llm_server,
                 "--llm-timeout", "180"]) == 0
    generated = json.loads(capsys.readouterr().out)
    assert extractive["questions"] == generated["questions"] == 3
    assert (extractive["generator"], generated["generator"]) == ("extractive", "openai")
    assert extractive["sentences_verified"] == 1.0  # verbatim quotes
    assert generated["generator_fallbacks"] == 0  # the model answered every question
    assert generated["recall@5"] == extractive["recall@5"]  # same retrieval underneath
    assert generated["seconds_per_answer"] > 0


def test_eval_counts_unverified_sentences_and_fallbacks(tmp_path, capsys):
    """A generator that makes up every answer: no sentence verified; a dead one: all fall back."""
    args = ["eval", "squad", str(DATA / "squad-tiny.json"), "--cache", str(tmp_path / "cache"),
            "--max-questions", "3", "--no-unanswerable", "--json", "--generator", "openai",
            "--llm-timeout", "5"]
    made_up = "The answer was painted purple by visitors from Mars in 2077 [1]."
    with canned_server(made_up) as url:
        assert main([*args, "--llm-base-url", url]) == 0
    invented = json.loads(capsys.readouterr().out)
    assert invented["sentences_verified"] == 0.0 and invented["generator_fallbacks"] == 0
    with failing_server() as url:
        assert main([*args, "--llm-base-url", url]) == 0
    failed = json.loads(capsys.readouterr().out)
    assert failed["generator_fallbacks"] == 3  # every question, each its extractive answer
    assert failed["sentences_verified"] == 1.0  # verbatim quotes


# --- a served answer whose entity is made up: unverified in --json and in the chat ---

DESIGNED = "Who designed the Kelling harbour bridge?"
INVENTED = ("The Kelling harbour bridge was designed by the Royal Engineering Commission [1]. "
            "It opened to traffic in 1894 [1].")


def assert_names_the_invention(answer: str, citations: list[dict]) -> None:
    assert "Commission. [1] (unverified)" in answer and answer.endswith("1894. [2]")
    bad, good = citations
    assert bad["verified"] is False and bad["unsupported"] == ["Royal Engineering Commission"]
    assert good["verified"] is True and good["unsupported"] == []
    for c in citations:
        assert c["spans"] and c["spans"][0]["quote"] == c["quote"]
        assert [s["start"] for s in c["spans"]] == sorted(s["start"] for s in c["spans"])


def test_cli_json_names_a_hallucinated_entity(gen_index, capsys):
    with canned_server(INVENTED) as url:
        code = main(["ask", DESIGNED, "--index", str(gen_index), "--generator", "openai",
                     "--llm-base-url", url, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert_names_the_invention(data["answer"], data["citations"])
    text = (DOCS / "kelling-bridge.txt").read_text(encoding="utf-8")
    for c in data["citations"]:
        for s in c["spans"]:
            assert text[s["start"]:s["end"]] == s["quote"]


def test_chat_names_a_hallucinated_entity(tmp_path):
    """The real app, its generator a canned OpenAI-compatible server, asked through its API."""
    from gradio_client import Client

    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    with canned_server(INVENTED) as url:
        app = start_app(tmp_path, docs, tmp_path / "index",
                        extra_env={"ASSISTANT_GENERATOR": "openai", "ASSISTANT_LLM_BASE_URL": url})
        try:
            result = Client(app.url, verbose=False).predict(question=DESIGNED, api_name="/ask")
        finally:
            app.stop()
    assert_names_the_invention(result["answer"], result["citations"])
    assert all(s["locator"].startswith("line ") for c in result["citations"] for s in c["spans"])


# --- servers that fail: the extractive answer, with a note, never a hang -----------


def _falls_back(index_dir: Path, embedder, url: str, expect: str) -> None:
    assistant = assistant_for(index_dir, embedder, generator="openai", llm_base_url=url,
                              llm_timeout=2.0)
    extractive = assistant.ask(QUESTION, generator="extractive")
    t0 = time.monotonic()
    answer = assistant.ask(QUESTION)
    elapsed = time.monotonic() - t0
    assert answer.text == extractive.text and answer.citations == extractive.citations
    assert len(answer.notes) == 1 and expect in answer.notes[0]
    assert "extractive answer is shown instead" in answer.notes[0] and answer.fallback
    assert not extractive.fallback and answer.sentences == extractive.sentences
    assert elapsed < 30, f"fell back only after {elapsed:.1f} s"  # a hang guard, not a benchmark


def test_unreachable_server_falls_back(gen_index, embedder):
    _falls_back(gen_index, embedder, f"http://127.0.0.1:{free_port()}/v1", "cannot reach")


def test_stalled_server_falls_back_after_the_timeout(gen_index, embedder):
    with stalled_server() as url:
        _falls_back(gen_index, embedder, url, "did not answer within 2 s")


def test_server_error_falls_back(gen_index, embedder):
    with failing_server() as url:
        _falls_back(gen_index, embedder, url, "HTTP 500")


def test_unreachable_server_through_the_cli(gen_index, capsys):
    code = main(["ask", QUESTION, "--index", str(gen_index), "--generator", "openai",
                 "--llm-base-url", f"http://127.0.0.1:{free_port()}/v1", "--llm-timeout", "2"])
    captured = capsys.readouterr()
    assert code == 0 and "1894" in captured.out
    assert "note: cannot reach the generator" in captured.err


def test_nothing_relevant_asks_no_model(gen_index, embedder):
    with stalled_server() as url:  # would cost the timeout if it were asked
        assistant = assistant_for(gen_index, embedder, generator="openai", llm_base_url=url,
                                  llm_timeout=20.0)
        t0 = time.monotonic()
        answer = assistant.ask("What is the boiling point of liquid helium on Neptune?")
        assert not answer.found and not answer.citations and not answer.notes
        assert time.monotonic() - t0 < 15


def test_openai_generator_needs_a_server():
    with pytest.raises(AssistantError, match="ASSISTANT_LLM_BASE_URL"):
        Settings.load(env={"ASSISTANT_GENERATOR": "openai"})
    s = Settings.load(env={"ASSISTANT_GENERATOR": "openai",
                           "ASSISTANT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
                           "ASSISTANT_LLM_TIMEOUT": "2.5", "ASSISTANT_LLM_MAX_TOKENS": "50"})
    assert (s.generator, s.llm_timeout, s.llm_max_tokens) == ("openai", 2.5, 50)


def test_per_question_switch_without_a_server_falls_back(gen_index, embedder):
    answer = assistant_for(gen_index, embedder).ask(QUESTION, generator="openai")
    assert "1894" in answer.text and "ASSISTANT_LLM_BASE_URL" in answer.notes[0]


# --- verification and prompt logic with the real embedder ---------------------------


def _verify(gen_index, embedder, draft: str, question: str = QUESTION) -> tuple[Answer, list]:
    assistant = assistant_for(gen_index, embedder)
    retriever = assistant.answerer.retriever()
    hits = retriever.search(question, k=5)
    return verify(question, draft, hits, retriever.store.documents, embedder,
                  assistant.analyzer), hits


def test_supported_claim_is_verified_with_its_best_sentence(gen_index, embedder):
    draft = "The Kelling harbour bridge opened to traffic in 1894 [1]."
    answer, hits = _verify(gen_index, embedder, draft)
    assert hits[0].chunk.source.endswith("kelling-bridge.txt")
    assert answer.text == "The Kelling harbour bridge opened to traffic in 1894. [1]"
    (c,) = answer.citations
    assert c.verified and c.quote == "The Kelling harbour bridge opened to traffic in 1894."
    assert c.line_start == c.line_end == 3 and answer.found and not answer.notes


def test_wrong_number_and_wrong_passage_are_unverified(gen_index, embedder):
    answer, hits = _verify(gen_index, embedder, "The bridge opened in 1895 [1].")
    assert answer.text.endswith(UNVERIFIED) and answer.found
    assert [c.verified for c in answer.citations] == [False]
    orchard = next(i for i, h in enumerate(hits, 1) if "orchard" in h.chunk.source)
    answer, _ = _verify(gen_index, embedder, f"The harbour bridge was designed by Margaret "
                                             f"Hale [{orchard}].")
    assert answer.citations[0].chunk.source.endswith("fenwick-orchard.txt")
    assert answer.citations[0].verified is False and answer.text.endswith(UNVERIFIED)


def test_uncited_claims_get_a_source_only_when_supported(gen_index, embedder):
    draft = ("The bridge was designed by the engineer Margaret Hale. "
             "It was painted gold by the Queen herself.")
    answer, _ = _verify(gen_index, embedder, draft, "Who designed the Kelling harbour bridge?")
    assert answer.text.startswith("The bridge was designed by the engineer Margaret Hale. [1] ")
    assert answer.text.endswith(f"herself. {UNVERIFIED}")
    (c,) = answer.citations
    assert c.verified and "Margaret Hale" in c.quote
    assert any("cited no passage" in n for n in answer.notes)


@pytest.mark.parametrize("refusal", ["I could not find this in the documents.",
                                     "The passages do not mention when it was repainted."])
def test_refusal_is_not_marked_and_not_found(gen_index, embedder, refusal):
    answer, _ = _verify(gen_index, embedder, refusal)
    assert answer.text == refusal
    assert not answer.found and not answer.citations and not answer.notes


def test_one_quote_shared_by_two_sentences_is_one_citation(gen_index, embedder):
    draft = ("The Kelling harbour bridge opened to traffic in 1894 [1]. "
             "The harbour bridge at Kelling opened to traffic in 1894 [1].")
    answer, _ = _verify(gen_index, embedder, draft)
    assert len(answer.citations) == 1 and answer.text.count("[1]") == 2


def test_split_claims_reads_marker_styles():
    claims = split_claims("Built in 1068 [2]. It fell in 1200. [1] Then [7] it burned [1, 3].\n\n"
                          "1. A list item [1-2]", 3)
    assert [c.text for c in claims] == ["Built in 1068.", "It fell in 1200.", "Then it burned.",
                                        "1. A list item"]
    assert [c.cited for c in claims] == [(2,), (1,), (1, 3), (1, 2)]
    assert claims[2].dropped == (7,)
    assert claims[2].sep == "\n\n"


def test_prompt_numbers_passages_and_carries_the_conversation(gen_index, embedder):
    assistant = assistant_for(gen_index, embedder)
    hits = assistant.answerer.retriever().search(QUESTION, k=2)
    history = [(f"question {i}", f"answer {i} [1] (unverified)") for i in range(5)]
    messages = build_messages("And who designed it?", hits, history)
    assert messages[0]["role"] == "system" and "[2]" in messages[0]["content"]
    assert [m["content"] for m in messages[1:7]] == [
        "question 2", "answer 2", "question 3", "answer 3", "question 4", "answer 4"]
    last = messages[-1]["content"]
    assert last.index("[1] ") < last.index("[2] ") < last.index("Question: And who designed it?")
    assert hits[0].chunk.text.strip() in last and "[3] " not in last


def test_answer_counts_verified_and_checked_sentences():
    said = (Statement("A.", (1,), True), Statement("B.", (2, 3), True),
            Statement("C.", (4,), False), Statement("D.", (), False), Statement("In short:"))
    answer = Answer("q", " ".join(s.render() for s in said), True, sentences=said)
    assert answer.text == "A. [1] B. [2][3] C. [4] (unverified) D. (unverified) In short:"
    assert (answer.verified, answer.checked) == (2, 4)
    assert answer.to_dict()["sentences"][2] == {"text": "C.", "cited": [4], "verified": False}
    assert (Answer("q", "Nothing found.", False).checked, Answer("q", "x", False).verified) == (0, 0)
