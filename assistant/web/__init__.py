"""The web chat (Gradio): page layout, event handlers, markup, the PDF page view and downloads.

    page.py        the page's layout and which event calls which handler; serve()
    controller.py  one handler per event, each returning {component: value}
    view.py        answers and documents -> escaped HTML and Markdown (no Gradio)
    pageview.py    the cited PDF page as an image with the quote highlighted
    downloads.py   the files a session downloads (Markdown, references, Word)
    editor.py      the reference editor's form <-> CSL fields
    messages.py    errors as the page shows them: no server paths, unexpected ones logged
    sealed.py      the conversation the browser keeps, sealed by the server
    guard.py       HTTP guards: only the page's own origin, the size of an upload request
"""
