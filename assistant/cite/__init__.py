"""Citations -> what a person pastes: quotes with locators, references in styles, exports.

    text.py         a citation as plain text or Markdown
    references.py   CSL-JSON items, citeproc styles, BibTeX/RIS/CSL-JSON exports
    styles.py       the one registry of reference styles
    corrections.py  the user's corrections in references.json
    bibformats.py   CSL-JSON items -> BibTeX and RIS
    records.py      answers -> citable records (what the chat keeps and exports read)
    word.py         a conversation -> a Word report
"""
