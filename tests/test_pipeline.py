"""The core path with the real model, real FAISS and real files: index, ask, update, fail safely."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DOCS_SRC, SEED, assert_exact, make_assistant

from assistant import store
from assistant.errors import IndexMismatchError, NoDocumentsError

# (question, words the answer must contain, line of the seed file that holds them)
SEED_QUESTIONS = [
    ("Where is the multi-agency team based?", "Maltby police station", 18),
    ("Who carried out the review?", "Steve Ashley", 7),
    ("How many potential compensation claims are there?", "double figures", 14),
]


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory, embedder):
    """docs_src/ copied to a temporary folder and indexed once for this module."""
    root = tmp_path_factory.mktemp("seed")
    docs = root / "docs_src"
    shutil.copytree(DOCS_SRC, docs)
    assistant = make_assistant(root / "index", embedder, docs)
    report = assistant.index()
    assert report.added >= 1 and report.removed == 0
    return assistant


@pytest.mark.parametrize(("question", "expected", "lines"), SEED_QUESTIONS)
def test_seed_questions_cite_the_right_passage_exactly(seed_index, question, expected, lines):
    answer = seed_index.ask(question)
    assert answer.found
    assert expected in answer.text
    first = answer.citations[0]
    assert first.chunk.source.endswith(SEED)
    assert expected in first.quote
    assert (first.line_start, first.line_end) == (lines, lines)
    assert expected in (DOCS_SRC / SEED).read_text(encoding="utf-8").split("\n")[lines - 1]
    assert first.page_start is None
    assert_exact(seed_index, answer)


def test_no_chunk_holds_boilerplate_and_every_span_is_exact(seed_index):
    st = seed_index.answerer.retriever().store
    assert len(st) > 0
    for c in st.iter_chunks():
        doc = st.documents[c.doc_id]
        assert "Hide Ad" not in c.text
        assert c.text == "\n\n".join(doc.text[a:b] for a, b in c.spans)
        assert doc.text[c.start:c.end].startswith(doc.text[c.spans[0][0]:c.spans[0][1]])


def test_chunks_fit_the_model_window(seed_index, embedder):
    st = seed_index.answerer.retriever().store
    texts = [f"{c.title}\n{c.text}" for c in st.iter_chunks()]
    assert max(embedder.count_tokens(texts)) + 2 <= embedder.max_seq_length


def test_unrelated_question_cites_nothing(seed_index):
    answer = seed_index.ask("How long should sourdough bread be baked at home?")
    assert not answer.found
    assert answer.citations == ()
    assert "[1]" not in answer.text


def test_followup_uses_the_conversation(seed_index):
    first = seed_index.ask("Who carried out the independent review?")
    follow = seed_index.ask("And when did he start his role?",
                            history=[(first.question, first.text)])
    assert follow.found
    assert "September" in follow.text
    assert_exact(seed_index, follow)


def test_incremental_add_change_delete(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    (docs / "owls.md").write_text(
        "# Owls\n\nThe tawny owl nests in old oak trees.\n\nIt hunts at night.\n", encoding="utf-8")
    (docs / "gone.txt").write_text("The lighthouse keeper painted the tower red.\n", encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    first = a.index()
    assert (first.added, first.updated, first.removed, first.unchanged) == (3, 0, 0, 0)
    seed_ids = {c.chunk_id for c in a.answerer.retriever().store.iter_chunks() if c.source.endswith(SEED)}

    (docs / "owls.md").write_text(
        "# Owls\n\nThe tawny owl nests in hollow beech trees.\n\nIt hunts at night.\n",
        encoding="utf-8")
    (docs / "gone.txt").unlink()
    (docs / "new.txt").write_text("The bakery on Mill Lane sells rye bread on Fridays.\n",
                                  encoding="utf-8")
    second = a.index()
    assert (second.added, second.updated, second.removed, second.unchanged) == (1, 1, 1, 1)
    # Only the changed and added documents were embedded; the seed kept its chunk ids.
    assert second.embedded < second.chunks
    st = a.answerer.retriever().store
    assert seed_ids <= {c.chunk_id for c in st.iter_chunks()}
    assert not any(c.source.endswith("gone.txt") for c in st.iter_chunks())

    answer = a.ask("Where does the tawny owl nest?")
    assert "beech" in answer.text and answer.citations[0].chunk.source.endswith("owls.md")
    assert answer.citations[0].chunk.heading_path == ("Owls",)
    assert_exact(a, answer)
    assert "rye bread" in a.ask("What does the bakery on Mill Lane sell?").text
    assert a.index().summary() == "added 0, updated 0, removed 0, unchanged 3"


def test_rebuild_starts_over(tmp_path, embedder, docs_copy):
    a = make_assistant(tmp_path / "index", embedder, docs_copy)
    a.index()
    again = a.index(rebuild=True)
    assert again.unchanged == 0 and again.added >= 1 and again.embedded == again.chunks


class ExplodingEmbedder:
    """The real model, which fails after the first batch: a build that dies mid-way."""

    def __init__(self, real):
        self.real = real
        self.name, self.dim, self.max_seq_length = real.name, real.dim, real.max_seq_length

    def count_tokens(self, texts):
        return self.real.count_tokens(texts)

    def embed(self, texts, progress=None):
        if len(texts) > 1:
            raise RuntimeError("simulated crash while embedding")
        return self.real.embed(texts, progress)


def test_old_index_survives_a_failed_build(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(DOCS_SRC / SEED, docs / SEED)
    good = make_assistant(tmp_path / "index", embedder, docs)
    good.index()
    before = store.generation(tmp_path / "index")

    (docs / "more.txt").write_text("\n\n".join(
        f"Paragraph {i} describes the harbour, its boats and the fish market." for i in range(40)),
        encoding="utf-8")
    broken = make_assistant(tmp_path / "index", ExplodingEmbedder(embedder), docs)
    with pytest.raises(RuntimeError, match="simulated crash"):
        broken.index()
    assert store.generation(tmp_path / "index") == before
    fresh = make_assistant(tmp_path / "index", embedder, docs)
    answer = fresh.ask("Where is the multi-agency team based?")
    assert "Maltby police station" in answer.text
    assert_exact(fresh, answer)


def test_index_built_with_other_settings_raises_mismatch(tmp_path, embedder, docs_copy):
    make_assistant(tmp_path / "index", embedder, docs_copy).index()
    other = make_assistant(tmp_path / "index", embedder, docs_copy, chunk_tokens=100)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.ask("Who carried out the review?")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.index()
    assert other.index(rebuild=True).added >= 1
    assert other.ask("Who carried out the review?").found


def test_other_model_name_raises_mismatch(tmp_path, embedder, docs_copy):
    from assistant.embed import resolve_model

    make_assistant(tmp_path / "index", embedder, docs_copy).index()
    # The same weights under another name stand in for a different model.
    other = make_assistant(tmp_path / "index", embedder, docs_copy,
                           model=resolve_model("bundled:all-MiniLM-L6-v2"))
    with pytest.raises(IndexMismatchError, match="model"):
        other.ask("Who carried out the review?")


def test_empty_folder_is_a_clear_error(tmp_path, embedder):
    (tmp_path / "docs").mkdir()
    a = make_assistant(tmp_path / "index", embedder, tmp_path / "docs")
    with pytest.raises(NoDocumentsError, match="no document"):
        a.index()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_index_and_ask_json(tmp_path, docs_copy):
    (docs_copy / "notes.xyz").write_text("not a supported format", encoding="utf-8")
    (docs_copy / "empty.txt").write_bytes(b"")
    idx = tmp_path / "index"
    done = _cli("index", "--docs", str(docs_copy), "--index", str(idx), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "added" in done.stdout and "removed 0" in done.stdout
    assert "skipped docs_src/notes.xyz: unsupported file type" in done.stdout
    assert "skipped docs_src/empty.txt: empty file" in done.stdout

    asked = _cli("ask", "Where is the multi-agency team based?", "--index", str(idx), "--json",
                 cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    out = json.loads(asked.stdout)
    assert out["found"] is True and "Maltby police station" in out["answer"]
    keys = {"n", "doc_id", "title", "source", "path", "quote", "start", "end", "line_start",
            "line_end", "page_start", "page_end", "chunk_id", "score"}
    for c in out["citations"]:
        assert keys <= set(c)
        text = Path(c["path"]).read_text(encoding="utf-8")
        assert text[c["start"]:c["end"]] == c["quote"]
    assert out["citations"][0]["source"] == f"docs_src/{SEED}"

    missing = _cli("ask", "anything", "--index", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 1
    assert "assistant index" in missing.stderr and "Traceback" not in missing.stderr
