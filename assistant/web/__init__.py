"""The web chat (Gradio): page layout, event handlers, markup, the PDF page view and downloads.

    page.py        the page's layout and which event calls which handler; serve()
    controller.py  one handler per event, each returning {component: value}
    view.py        answers and documents -> escaped HTML and Markdown (no Gradio)
    pageview.py    the cited PDF page as an image with the quote highlighted
    downloads.py   the files a session downloads (Markdown, references, Word)
    editor.py      the reference editor's form <-> CSL fields
"""
