"""Make docs/screenshot-pdf-page.png: a PDF citation with its page image, the quote highlighted.

    .venv/bin/python scripts/screenshot_page.py [--out docs/screenshot-pdf-page.png]

Starts `python app.py` over docs_src/ with a throw-away index, asks a question
that docs_src/black-death.pdf answers, chooses APA references, opens the PDF
source in the document view and saves the page. docs_src/ is only read.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the same launcher and browser flags as the UI tests

from ui_server import CHROMIUM, CHROMIUM_FLAGS, start_app  # noqa: E402

QUESTION = "Where did the first variant of the plague enter Europe?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot-pdf-page.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="assistant-shot-") as tmp:
        work = Path(tmp)
        app = start_app(work, ROOT / "docs_src", work / "index")
        try:
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    str(work / "profile"), executable_path=CHROMIUM, headless=True,
                    args=CHROMIUM_FLAGS, viewport={"width": 1440, "height": 1000},
                    device_scale_factor=1)
                page = ctx.new_page()
                page.goto(app.url)
                page.wait_for_selector("#question textarea", timeout=60_000)
                page.wait_for_load_state("networkidle")
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
                ctx.close()
        finally:
            app.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
