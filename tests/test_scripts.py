"""Text in every script (issue 24): sentences of Hindi, Arabic, Urdu, Thai, Japanese and
Chinese with exact offsets, words that keep their combining marks, Thai as character pairs,
digits of any script, chunks of text without spaces, and a Hindi and a Thai document
indexed and asked through the real pipeline (the bundled model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import assert_exact, make_assistant

from assistant.indexing.chunk import CHARS_PER_TOKEN, Chunker
from assistant.text.analyzer import ENGLISH, ascii_digits, split_words, word_count
from assistant.text.facts import numbers
from assistant.text.sentences import sentence_spans
from assistant.types import Document

HI_DOC = ("ताजमहल\n\nताजमहल आगरा शहर में यमुना नदी के किनारे स्थित है। इसे मुग़ल बादशाह शाहजहाँ ने "
          "अपनी पत्नी मुमताज़ महल की याद में बनवाया था। इसका निर्माण लगभग १६३२ में शुरू हुआ और इसे "
          "पूरा होने में बीस साल से अधिक लगे। हर साल लाखों पर्यटक इसे देखने आते हैं।\n")
TH_DOC = ("เชียงใหม่\n\nเชียงใหม่เป็นจังหวัดใหญ่ทางภาคเหนือของประเทศไทย "
          "ดอยสุเทพเป็นภูเขาที่อยู่ทางทิศตะวันตกของตัวเมือง นักท่องเที่ยวนิยมมาเที่ยวในช่วงฤดูหนาว\n")


@pytest.mark.parametrize("text, sentences", [
    # Hindi: the danda ends a sentence, a Latin ? too
    ("भारत एक विशाल देश है। यहाँ अनेक भाषाएँ बोली जाती हैं। क्या आप हिन्दी बोलते हैं?",
     ["भारत एक विशाल देश है।", "यहाँ अनेक भाषाएँ बोली जाती हैं।", "क्या आप हिन्दी बोलते हैं?"]),
    # the danda needs no space after it; a double danda ends a verse
    ("राम वन गए।सीता साथ गईं॥ लक्ष्मण भी गए।",
     ["राम वन गए।", "सीता साथ गईं॥", "लक्ष्मण भी गए।"]),
    # Arabic: the Latin full stop, the Arabic question mark; the Arabic comma does not end one
    ("القاهرة هي عاصمة مصر. يبلغ عدد سكانها أكثر من عشرين مليون نسمة. هل زرتها من قبل؟ نعم، زرتها مرتين.",
     ["القاهرة هي عاصمة مصر.", "يبلغ عدد سكانها أكثر من عشرين مليون نسمة.", "هل زرتها من قبل؟",
      "نعم، زرتها مرتين."]),
    # Urdu: the Urdu full stop ۔ and ؟
    ("پاکستان کا دارالحکومت اسلام آباد ہے۔ کراچی سب سے بڑا شہر ہے۔ کیا آپ نے لاہور دیکھا ہے؟",
     ["پاکستان کا دارالحکومت اسلام آباد ہے۔", "کراچی سب سے بڑا شہر ہے۔", "کیا آپ نے لاہور دیکھا ہے؟"]),
    # Thai: no stops; a space between Thai runs ends a sentence, not one after ๆ
    ("กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย มีประชากรประมาณสิบล้านคน เด็กๆ ชอบไปเที่ยวสวนสัตว์",
     ["กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย", "มีประชากรประมาณสิบล้านคน",
      "เด็กๆ ชอบไปเที่ยวสวนสัตว์"]),
    # Japanese, with a quotation closing after its stop
    ("東京は日本の首都です。人口は約千四百万人です！「大きい都市ですね。」はい",
     ["東京は日本の首都です。", "人口は約千四百万人です！", "「大きい都市ですね。」", "はい"]),
    # Chinese: ！？ end a sentence, the full-width semicolon (a clause) does not
    ("北京是中国的首都。上海是最大的城市！你去过吗？我去过两次；很喜欢。",
     ["北京是中国的首都。", "上海是最大的城市！", "你去过吗？", "我去过两次；很喜欢。"]),
    # Armenian, Ethiopic (Amharic) and Burmese full stops
    ("Հայաստանի մայրաքաղաքը Երևանն է։ Այն հին քաղաք է։",
     ["Հայաստանի մայրաքաղաքը Երևանն է։", "Այն հին քաղաք է։"]),
    ("አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት። ብዙ ሰዎች ይኖራሉ።", ["አዲስ አበባ የኢትዮጵያ ዋና ከተማ ናት።", "ብዙ ሰዎች ይኖራሉ።"]),
    ("ရန်ကုန်သည် မြို့ကြီးဖြစ်သည်။ နေပြည်တော်သည် မြို့တော်ဖြစ်သည်။",
     ["ရန်ကုန်သည် မြို့ကြီးဖြစ်သည်။", "နေပြည်တော်သည် မြို့တော်ဖြစ်သည်။"]),
])
def test_sentences_of_every_script_keep_exact_offsets(text, sentences):
    padded = "Intro.\n\n" + text + "\n"  # offsets count from the text's start, not the span's
    spans = sentence_spans(padded, 8)
    assert [padded[a:b] for a, b in spans] == sentences
    assert all(padded[a:b] == s for (a, b), s in zip(spans, sentences, strict=True))


def test_english_sentences_are_split_as_before():
    text = "Dr. Smith arrived at 3.5 p.m. on Monday. He left e.g. early. Then what? Nothing!"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Dr. Smith arrived at 3.5 p.m. on Monday.", "He left e.g. early.", "Then what?", "Nothing!"]


def test_words_keep_their_combining_marks():
    # \w alone cuts at every vowel sign and virama: "हिन्दी" would be "ह", "न", "द"
    assert split_words("हिन्दी भारत की राजभाषा है।") == ["हिन्दी", "भारत", "की", "राजभाषा", "है"]
    assert split_words("मराठी आणि नेपाळी") == ["मराठी", "आणि", "नेपाळी"]
    assert split_words("مُحَمَّد رسول") == ["مُحَمَّد", "رسول"]  # Arabic harakat
    assert split_words("می\u200cخواهم") == ["می\u200cخواهم"]  # Persian zero-width non-joiner
    assert split_words("cafe\u0301 naïve") == ["cafe\u0301", "naïve"]  # a decomposed accent
    hindi = ENGLISH.for_language("hi")
    assert hindi.stemmer == "hindi" and len(hindi.tokens("हिन्दी भाषा")) == 2


def test_thai_lao_khmer_burmese_are_character_pairs():
    # each character with its vowel signs and tone marks: "เป็" is เ + ป็
    assert split_words("ภาษาไทย") == ["ภา", "าษ", "ษา", "าไ", "ไท", "ทย"]
    assert split_words("เป็นภาษา")[:2] == ["เป็", "ป็น"]
    assert split_words("ພາສາລາວ") == ["ພາ", "າສ", "ສາ", "າລ", "ລາ", "າວ"]
    assert split_words("ភាសាខ្មែរ")[0] == "ភាសា"
    assert split_words("မြန်မာစာ") == ["မြန်", "န်မာ", "မာစာ"]
    assert split_words("ไทย") == ["ไท", "ทย"] and split_words("ก") == ["ก"]
    # a Thai question and the sentence that answers it share their pairs
    asked = set(ENGLISH.for_language("th").tokens("ดอยสุเทพอยู่ทางทิศไหน"))
    assert {"ดอ", "อย", "ทิศ"} <= asked & set(split_words("ดอยสุเทพเป็นภูเขาที่อยู่ทางทิศตะวันตก"))
    # stops and digits are not words
    assert split_words("ရန်ကုန်။") == ["ရန်", "န်ကု", "ကုန်"]


def test_digits_of_every_script_are_numbers():
    assert ascii_digits("१९४७ ١٩٤٧ ۱۹۴۷ ๑๙๔๗ １９４７") == "1947 1947 1947 1947 1947"
    assert split_words("सन् १९४७ में") == ["सन्", "1947", "में"]
    assert [v for v, _, _ in numbers("عدد ١٢٣ و ٤٫٥ و ١٬٢٠٠")] == [123.0, 4.5, 1200.0]
    assert [v for v, _, _ in numbers("लगभग १६३२ में")] == [1632.0]
    assert [v for v, _, _ in numbers("1,200 and 3.5 million")] == [1200.0, 3_500_000.0]


def test_words_are_counted_in_scripts_without_spaces():
    assert word_count("The packages are installed.") == 4  # English: the words between spaces
    assert word_count("パッケージを削除します。") >= 3  # a Japanese sentence can be quoted
    assert word_count("はい！") < 3
    assert word_count("นักท่องเที่ยวนิยมมาเที่ยวในช่วงฤดูหนาว") >= 3


@pytest.mark.parametrize("text", [
    "東京は日本の首都であり多くの人が住んでいる大きな都市です" * 200,  # no stops, no spaces
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทยและมีประชากรมาก" * 200,  # MiniLM: one [UNK]
])
def test_text_without_spaces_is_not_one_giant_chunk(embedder, text):
    doc = Document("d", "x.txt", "/x.txt", "x", text, "txt", "h")
    chunks = Chunker(embedder)(doc)
    assert len(chunks) >= len(text) // (200 * CHARS_PER_TOKEN)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert max(len(c.text) for c in chunks) <= 200 * CHARS_PER_TOKEN
    assert max(embedder.count_tokens([c.text for c in chunks])) <= embedder.max_seq_length
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_a_hindi_and_a_thai_document_answer_in_their_language(tmp_path: Path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "taj.txt").write_text(HI_DOC, encoding="utf-8")
    (docs / "chiangmai.txt").write_text(TH_DOC, encoding="utf-8")
    a = make_assistant(tmp_path / "index", embedder, docs)
    a.index()
    assert a.answerer.retriever().store.languages() == {"hi": 1, "th": 1}
    for question, source, quote in [
        ("ताजमहल किस नदी के किनारे स्थित है?", "taj.txt",
         "ताजमहल आगरा शहर में यमुना नदी के किनारे स्थित है।"),
        ("शाहजहाँ ने ताजमहल किसकी याद में बनवाया था?", "taj.txt",
         "इसे मुग़ल बादशाह शाहजहाँ ने अपनी पत्नी मुमताज़ महल की याद में बनवाया था।"),
        ("ดอยสุเทพอยู่ทางทิศไหนของตัวเมือง", "chiangmai.txt",
         "ดอยสุเทพเป็นภูเขาที่อยู่ทางทิศตะวันตกของตัวเมือง"),
    ]:
        answer = a.ask(question)
        assert answer.found, question
        assert answer.citations[0].chunk.source.endswith(source)
        assert answer.citations[0].quote == quote
        assert_exact(a, answer)
        # the short-answer rules read English: they give no span rather than a wrong one
        assert answer.short_answer is None
