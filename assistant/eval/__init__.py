"""`assistant eval`: public benchmarks and your own checks through the product's own path.

    data.py      benchmark files -> Documents and judged queries (BEIR, SQuAD)
    runners.py   index, search and ask, then score (run_beir, run_squad)
    metrics.py   SQuAD's answer normalisation, exact match and F1
    dialog.py    conversations turn by turn: are follow-ups answered without repeats?
    docs.py      your own questions and gold strings over any folder (`eval docs`)
"""
