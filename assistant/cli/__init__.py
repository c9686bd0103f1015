"""`assistant index|ask|serve|eval`: a thin layer over pipeline; the only place errors become exit codes.

Each command imports the stages it runs inside its own function (and they their heavy
libraries, torch, faiss, ONNX Runtime, Gradio, only when used), so `assistant --help`
loads the settings alone and answers at once. import-linter sees these imports too."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..cite.styles import ANSWER_STYLES
from ..config import BACKENDS, FLAGS, GENERATORS, MODES, Settings
from ..errors import AssistantError
from ..ingest.language import quote_language
from . import evaluate, team


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=Path, default=None, metavar="DIR",
                   help="index folder (default: index/, or ASSISTANT_INDEX_DIR)")
    p.add_argument("--model", default=None,
                   help="sentence-transformers model name or path (default: the bundled MiniLM)")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="embedding runtime: auto (default) runs the bundled model on ONNX "
                        "Runtime when its ONNX copy exists, else on torch")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="assistant",
        description="Ask questions about your own documents; every answer cites its sources exactly.",
    )
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or update the index from a folder of documents")
    p.add_argument("--docs", type=Path, default=None, metavar="DIR",
                   help="documents folder (default: docs_src/, or ASSISTANT_DOCS_DIR)")
    p.add_argument("--rebuild", action="store_true", help="start over instead of updating")
    p.add_argument("--optimize", action="store_true",
                   help="after updating, merge all index segments into one (drops deleted rows)")
    p.add_argument("--chunk-tokens", type=int, default=None, help="target chunk size in tokens")
    p.add_argument("--chunk-overlap", type=int, default=None, help="overlap between chunks in tokens")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--collection", default=None, metavar="NAME",
                   help="index this collection only (docs/TEAMS.md); default: every collection "
                        "the server has (without any declared: the documents folder)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="parse, chunk and embed on a Ray cluster (pip install 'assistant[ray]'): "
                        "its address (host:6379), or none to start one on this machine")
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for another `assistant index` writing the same index "
                        "(default 600, or ASSISTANT_LOCK_TIMEOUT)")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the index")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--collection", default=None, metavar="NAME",
                   help="ask this collection of a team's server (docs/TEAMS.md)")
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (each citation with its CSL-JSON reference)")
    p.add_argument("--style", default=None, metavar="STYLE",
                   choices=list(ANSWER_STYLES),
                   help="references in this style: apa, harvard or chicago (in-text citations "
                        "and a reference list), or bibtex, ris, csl-json (for Zotero and co.)")
    _generator_flags(p)
    _common(p)

    p = sub.add_parser("serve", help="start the web chat")
    p.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")
    p.add_argument("--docs", type=Path, default=None, metavar="DIR",
                   help="documents folder; built into an index first if none exists")
    _common(p)

    p = sub.add_parser("mcp", help="serve the documents to an MCP client over stdio "
                                   "(search, fetch, ask, cite; docs/API.md)")
    p.add_argument("--user", default=None, metavar="NAME",
                   help="act with this account's rights on a team's server (default: the "
                        "machine's user, as its administrator)")
    _common(p)

    evaluate.add_parser(sub, _common, _generator_flags)
    team.add_parsers(sub)
    return ap


def _generator_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", choices=GENERATORS, default=None,
                   help="extractive (default) quotes the passages; openai asks an "
                        "OpenAI-compatible server and checks its citations")
    p.add_argument("--llm-base-url", default=None, metavar="URL",
                   help="the server, e.g. http://127.0.0.1:8080/v1 (or ASSISTANT_LLM_BASE_URL)")
    p.add_argument("--llm-model", default=None,
                   help="model name (default: ASSISTANT_LLM_MODEL, else the server's first)")
    p.add_argument("--llm-timeout", type=float, default=None, metavar="SECONDS",
                   help="give up on the server after this long (default 60) and answer "
                        "extractively")


def dest(flag: str) -> str:
    """The attribute argparse stores a flag under: "--llm-base-url" -> "llm_base_url"."""
    return flag.lstrip("-").replace("-", "_")


def settings_from(args: argparse.Namespace) -> Settings:
    """Defaults < ASSISTANT_* variables < flags (config.FLAGS names each setting's flag)."""
    return Settings.load(**{name: getattr(args, dest(flag), None) for name, flag in FLAGS.items()})


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from ..pipeline import Assistant

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None and total:
            bar = tqdm(total=total, desc="embedding", unit="chunk", file=sys.stderr,
                       disable=args.json and not sys.stderr.isatty())
        if bar is not None:
            bar.total = total  # grows while files are still being read
            bar.n = done
            bar.refresh()

    collections = _collections(args, settings)
    if collections is None:
        targets = [("", Assistant(settings))]
    else:
        targets = [(name, collections.assistant(name)) for name in
                   ([args.collection] if args.collection else collections.names())]
    for name, assistant in targets:
        if name:
            print(f"collection {name}: {assistant.settings.docs_dir}", file=sys.stderr)
        bar = None
        report = assistant.index(assistant.settings.docs_dir, rebuild=args.rebuild,
                                 progress=progress, ray=args.ray)
        if bar is not None:
            bar.close()
        _report(args, assistant, report, name)
    return 0


def _collections(args: argparse.Namespace, settings: Settings) -> Any:
    """The server's declared collections, or None for the one documents folder of old."""
    from ..team import Team

    if args.collection is None and not settings.config and \
            not (Path(settings.team_db or settings.index_dir / "team.sqlite")).exists():
        return None  # no team database, no config file: nothing is declared
    collections = Team(settings).collections
    declared = collections.names() != ["default"] or args.collection == "default"
    if not declared and args.collection is None:
        return None
    if args.docs is not None:
        raise AssistantError("--docs does not go with collections: each has its own folder "
                             "(`assistant collection list`)")
    if args.collection is not None:
        collections.get(args.collection)
    return collections


def _report(args: argparse.Namespace, assistant: Any, report: Any, name: str) -> None:
    merged = assistant.indexer.optimize() if args.optimize else 0
    if args.json:
        print(json.dumps({
            **({"collection": name} if name else {}),
            "added": report.added, "updated": report.updated, "removed": report.removed,
            "unchanged": report.unchanged, "documents": report.documents, "chunks": report.chunks,
            "embedded": report.embedded, "seconds": round(report.seconds, 3),
            "vector_index": report.vector_index, "segments_merged": merged,
            "model": report.model, "model_reason": report.model_reason,
            "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
            "notes": list(report.notes),
        }, ensure_ascii=False))
    else:
        print(f"{report.summary()} ({report.documents} documents, {report.chunks} chunks, "
              f"{report.embedded} embedded, {report.seconds:.1f} s)")
        print(f"vector index: {report.vector_index}"
              + (f"; merged {merged} segments into one" if merged else ""))
        if report.model:
            print(f"model: {report.model}"
                  + (f" ({report.model_reason})" if report.model_reason else ""))
        for s in report.skipped:
            print(f"skipped {s.source}: {s.reason}")
        for note in report.notes:
            print(f"note: {note}")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from ..cite.references import cited_items, render
    from ..cite.text import answer_text
    from ..pipeline import Assistant
    from ..types import marker

    if args.collection:
        from ..team import Team

        answerer = Team(settings).collections.assistant(args.collection).answerer
    else:
        answerer = Assistant(settings).answerer
    if args.json or settings.generator == "extractive":
        answer = answerer.ask(args.question, k=args.k)
    else:
        answer = _stream(answerer.ask_stream(args.question, k=args.k))
    if args.json:
        out = answer.to_dict()
        documents = answerer.cited_documents(answer)
        for c, cited, csl in zip(out["citations"], answer.citations,
                                 cited_items(answer, documents), strict=True):
            doc = documents.get(cited.chunk.doc_id)
            c["language"] = quote_language(doc, cited) if doc else ""  # as the API gives it
            c["csl"] = csl
        print(json.dumps(out, ensure_ascii=False, indent=1))
    elif args.style:
        print(render(answer, answerer.cited_documents(answer), args.style))
    else:
        if answer.short_answer is not None:  # the few words that answer, first
            print(f"{answer.short_answer.text} {marker(answer.short_answer.citation_n)}\n")
        print(answer_text(answer))
        for note in answer.notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _stream(answers: Any) -> Any:
    """Print the model's draft as it arrives; return the final (checked) answer.

    The checked answer, printed after the draft, renumbers citations and marks
    what could not be verified, so it is printed in full under a rule.
    """
    shown = ""
    final = None
    for answer in answers:
        draft, final = final, answer  # every answer but the last is a draft
        if draft is not None and draft.text.startswith(shown):
            sys.stdout.write(draft.text[len(shown):])
            sys.stdout.flush()
            shown = draft.text
    if shown:
        sys.stdout.write("\n\n--- checked against the sources ---\n")
    return final


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from ..web.page import serve

    serve(settings)
    return 0


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """MCP over stdin/stdout: nothing but the protocol may reach stdout (logs go to stderr).

    It acts as the local administrator, or with `--user NAME`'s rights (service/callers.py)."""
    from ..service.callers import local
    from ..service.library import Library
    from ..service.pool import Pool
    from ..service.tools import server
    from ..team import Team

    team = Team(settings)
    caller = local(team, args.user)
    names = team.policy.readable(caller(None))
    if not names:
        raise AssistantError(f"{args.user} may read no collection here")
    ready = [n for n in names if team.collections.assistant(n).answerer.has_index()]
    if not ready:
        raise AssistantError(f"no index in {settings.index_dir}: run `assistant index` first")
    for name in ready:  # load the indexes and the model before the first call
        team.collections.assistant(name).answerer.retriever()
    server(Library(team), Pool(settings.worker_count(), settings.api_queue), caller).run("stdio")
    return 0


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "serve": cmd_serve, "mcp": cmd_mcp,
            "eval": evaluate.run, **dict.fromkeys(team.TEAM_COMMANDS, team.run)}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from(args)
        return COMMANDS[args.command](args, settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
