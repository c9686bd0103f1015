"""The answer unit's features (answer/unitfeatures.py), the ranker fitted on them by corpus
(bench/fit_units.py -> assistant/answer/models/units.json), and a quote of neighbouring rows."""

from __future__ import annotations

import json
from pathlib import Path

from test_units import KEYED, _at

from assistant.answer import fitted, ranker
from assistant.answer.unitfeatures import UNIT_FEATURES, asks_technical, quote_spans
from assistant.answer.units import unit_spans
from assistant.ingest import load_document
from assistant.text.passages import Sentence


def _doc(tmp_path: Path):
    (tmp_path / "gpg.html").write_text(KEYED, encoding="utf-8")
    return load_document(tmp_path / "gpg.html", tmp_path)


def test_two_neighbouring_rows_chosen_together_are_both_quoted(tmp_path: Path) -> None:
    """Before, a sentence merged across two rows was cut back to the first row: the row the
    ranker liked best was dropped from the quote."""
    doc = _doc(tmp_path)
    start = _at(doc, "q | not enough")
    end = _at(doc, "n | never trust") + len("n | never trust this key")
    spans = unit_spans(doc, start, end)
    assert spans is not None
    quoted = " … ".join(doc.text[a:b] for a, b in spans)
    assert quoted.startswith("code | description of trust … q | not enough information")
    assert quoted.endswith("n | never trust this key") and spans[-1][1] == end


def test_asked_technical_kinds() -> None:
    assert asks_technical("Which port does PostgreSQL listen on by default?") == "default"
    assert asks_technical("Which port does the server use?") == "number"
    assert asks_technical("Which log file records generic APT activity?") == "file"
    assert asks_technical("Which git gc option optimizes harder?") == "option"
    assert asks_technical("How do I list the keys with their trust?") == "command"
    assert asks_technical("Who carried out the review of Rotherham?") is None


def test_unit_features_see_the_row_and_its_header(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from assistant.answer.unitfeatures import unit_features
    from assistant.text.analyzer import ENGLISH

    doc = _doc(tmp_path)
    row = _at(doc, "q | not enough")
    end = row + len("q | not enough information for calculation")
    prose = _at(doc, "Here is")
    sents = [Sentence(0, row, end, doc.text[row:end]),
             Sentence(0, prose, prose + 36, doc.text[prose:prose + 36])]
    hit = SimpleNamespace(chunk=SimpleNamespace(doc_id=doc.doc_id))  # all unit_features reads
    rows = unit_features("Which code means the trust description is not enough information?",
                         sents, [hit], {doc.doc_id: doc}, ENGLISH)  # type: ignore[list-item]
    f = dict(zip(UNIT_FEATURES, rows[0], strict=True))
    assert f["kind_row"] == 1 and f["widened"] == 1 and f["head_overlap"] > 0
    assert f["unit_overlap"] >= f["head_overlap"]
    g = dict(zip(UNIT_FEATURES, rows[1], strict=True))
    assert g["kind_row"] == 0 and g["kind_code"] == 0
    assert quote_spans(doc, row, end)[0] != (row, end)  # the header row comes first


def test_the_unit_ranker_file_holds_the_features_the_code_computes() -> None:
    path = fitted.MODELS / "units.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["fitted_by"] == "bench/fit_units.py" and "pickle" not in json.dumps(data)
    model = fitted.load("units", ranker.RANKERS["units"])
    assert set(model.features) <= set(ranker.SENTENCE_FEATURES + UNIT_FEATURES)
    assert model.settings["second_margin"] > 0


def test_a_port_a_path_or_an_option_is_the_short_answer_its_question_asks_for(
        tmp_path: Path) -> None:
    from assistant.answer.typed import asked, technical_answer

    (tmp_path / "m.md").write_text(
        "# Settings\n\nThe TCP port the server listens on; 5432 by default.\n\n"
        "Log of generic APT activity is kept in /var/log/apt/term.log since 2009.\n\n"
        "Run git clean with -x to remove ignored files too.\n", encoding="utf-8")
    doc = load_document(tmp_path / "m.md", tmp_path)

    def answer(question: str, sentence: str) -> str | None:
        at = _at(doc, sentence)
        sa = technical_answer(question, doc, [(at, doc.text.find("\n", at))])
        assert sa is None or doc.text[sa.start:sa.end] == sa.text
        return sa.text if sa else None

    assert answer("Which port does the server listen on by default?", "The TCP") == "5432"
    assert answer("Which log file records generic APT activity?", "Log of") == \
        "/var/log/apt/term.log"
    assert answer("Which option makes git clean remove ignored files?", "Run git") == "-x"
    assert answer("Which option does -x stand for?", "Run git") is None  # named already
    assert asked("Who wrote the review?") is None
    assert answer("When was the log started?", "Log of") is None
