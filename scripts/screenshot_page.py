"""Make docs/screenshot-pdf-page.png: a PDF citation with its page image, the quote highlighted.

    .venv/bin/python scripts/screenshot_page.py [--out docs/screenshot-pdf-page.png]

Starts `python app.py` over docs_src/ with a throw-away index, asks a question
that docs_src/black-death.pdf answers, chooses APA references, opens the PDF
source in the document view and saves the page. docs_src/ is only read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the same launcher and browser flags as the UI tests

from ui_server import chat_page  # noqa: E402

QUESTION = "Where did the first variant of the plague enter Europe?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot-pdf-page.png")
    args = ap.parse_args()
    with chat_page(ROOT / "docs_src") as page:
        page.fill("#question textarea", QUESTION)
        page.press("#question textarea", "Enter")
        page.wait_for_selector("#sources .sources[data-turn='0']", timeout=120_000)
        page.wait_for_load_state("networkidle")
        pdf = page.locator("#sources .src", has_text="black-death.pdf").first
        pdf.get_by_role("button", name="Show in document").click()
        page.locator("#document figure.page-img").first.wait_for(timeout=60_000)
        page.wait_for_timeout(800)
        page.evaluate("window.scrollTo(0, 0)")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
