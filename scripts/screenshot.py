"""Make docs/screenshot.png: the real chat answering a question, in headless Chromium.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshot.png]

Starts `python app.py` on a free loopback port over docs_src/ with a throw-away
index, asks a question and a follow-up, opens the first source in the
document view, and saves the page. Nothing is downloaded; docs_src/ is only read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the same launcher and browser flags as the UI tests

from ui_server import chat_page  # noqa: E402

QUESTIONS = ["What did the independent review of Rotherham find?", "And who led it?"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = ap.parse_args()
    with chat_page(ROOT / "docs_src") as page:
        for turn, question in enumerate(QUESTIONS):
            page.fill("#question textarea", question)
            page.press("#question textarea", "Enter")
            page.wait_for_selector(f"#sources .sources[data-turn='{turn}']", timeout=120_000)
        page.locator("#sources .src").first.get_by_role("button", name="Show in document").click()
        page.locator("#document mark").wait_for(timeout=30_000)
        page.wait_for_timeout(800)
        page.evaluate("window.scrollTo(0, 0)")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out), full_page=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
