"""Start the web chat on http://127.0.0.1:7860 (ASSISTANT_HOST / ASSISTANT_PORT change it)."""

from assistant.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve"]))
