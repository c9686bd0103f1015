"""Writing the index: the one writer (Indexer), change detection, chunking, batches, Ray.

    indexer.py    Indexer: folder updates, loaded documents, uploads, merges
    changes.py    what changed in a folder (stat, then hash) and each file's outcome
    update.py     read, chunk and embed the changed files in batches; one commit
    chunk.py      Document -> Chunks sized in the model's tokens (Chunker)
    writer.py     the store's writer for one update: checked, old formats converted
    ray.py        the same update with parsing and embedding on a Ray cluster
"""

from __future__ import annotations

from .indexer import Indexer
from .update import Progress

__all__ = ["Indexer", "Progress"]
