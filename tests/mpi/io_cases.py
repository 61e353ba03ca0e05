"""The inputs that tests/test_distributed_io.py reads on one process and on P MPI ranks
(tests/mpi/load_io.py): ``write_inputs(root)`` writes every file under ``root``; ``CASES``
names each read: name -> (loader, path relative to root, options)."""

import codecs
import json
import zipfile
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]


def _dense(m, n, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)) * (rng.random((m, n)) < 0.6)
    return X.astype(dtype)


def _sparse(m, n, seed):
    return sp.random(m, n, density=0.4, random_state=seed, format="csc")


_TOPICS = {
    "space": "orbit rocket launch satellite planet moon star telescope galaxy astronaut",
    "sport": "goal match team player league score coach season stadium referee",
    "food": "bread cheese recipe oven flavour spice garden tomato kitchen dinner",
}


def _documents(n, seed):
    """n short documents: (text, topic name)."""
    rng = np.random.default_rng(seed)
    names = sorted(_TOPICS)
    docs = []
    for j in range(n):
        topic = names[rng.integers(len(names))]
        words = _TOPICS[topic].split() + ["the", "and", "common", "words", "rare%d" % (j % 5)]
        text = " ".join(rng.choice(words, size=rng.integers(4, 14)))
        if j % 7 == 3:
            text = text.title() + ", bien sûr — déjà vu!"  # case, accents, punctuation
        docs.append((text, topic))
    return docs


def _corrupt_member(path, member):
    """Flip bytes in the middle of an uncompressed zip member's data: the archive still
    opens and the other members read, reading this one fails its CRC check."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(fh.read(4), dtype="<u2")
        data = info.header_offset + 30 + int(name_len) + int(extra_len)
        fh.seek(data + info.compress_size // 2)
        chunk = bytearray(fh.read(8))
        fh.seek(data + info.compress_size // 2)
        fh.write(bytes(b ^ 0xFF for b in chunk))


def write_inputs(root):
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    m = len(WORDS)
    # single matrix files
    np.save(root / "dense.npy", _dense(m, 11, 0))
    np.save(root / "dense_t.npy", _dense(11, m, 1, np.float32))  # documents x words
    (root / "words.txt").write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    (root / "labels11.txt").write_text("\n".join(["a", "b", "", "c", "a", "-1", "b", "c", "a",
                                                   "b", "c"]) + "\n", encoding="utf-8")
    S = _sparse(m, 13, 2)
    sp.save_npz(root / "csr.npz", S.tocsr())
    sp.save_npz(root / "coo_t.npz", S.T.tocoo())
    scipy.io.mmwrite(str(root / "sparse.mtx"), S)
    scipy.io.mmwrite(str(root / "dense.mtx"), _dense(m, 9, 3))
    y = np.array([2, 0, 1, -1, 2, 2, 0, 1, 1, 0, 2, 1, 0])
    scipy.io.savemat(str(root / "data.mat"), {
        "X": S, "y": y, "words": np.array(WORDS, dtype=object)})
    np.savez(root / "named.npz", X=_dense(m, 10, 4), y=np.arange(10) % 3)
    # shard folders
    sizes = [3, 1, 4, 2, 5]
    shards = root / "shards_npz"
    shards.mkdir(exist_ok=True)
    for i, k in enumerate(sizes):
        part = _sparse(m, k, 10 + i)
        sp.save_npz(shards / f"part-{i:04d}.npz", part.tocsr() if i % 2 else part)
    (shards / "README.md").write_text("not a shard\n")
    shards = root / "shards_npy_t"
    shards.mkdir(exist_ok=True)
    for i, k in enumerate(sizes[:4]):
        np.save(shards / f"part-{i:04d}.npy", _dense(k, m, 20 + i, np.float32))
    shards = root / "shards_mat"
    shards.mkdir(exist_ok=True)
    for i, k in enumerate([2, 3, 2]):
        scipy.io.savemat(str(shards / f"part-{i}.mat"), {
            "X": _dense(m, k, 30 + i), "y": np.arange(k) % 2 + i,
            "words": np.array(WORDS, dtype=object)})
    # text
    docs = _documents(23, 5)
    folder = root / "text"
    for j, (text, topic) in enumerate(docs):
        sub = folder / topic if j % 6 else folder  # some files without a label
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc{j:03d}.txt").write_text(text, encoding="utf-8")
    (folder / "space" / "bad-utf8.txt").write_bytes(b"orbit \xff\xfe rocket \xe2\x82")
    (folder / "space-extra.txt").write_text("galaxy star star", encoding="utf-8")
    docs = _documents(17, 6)
    rows = ['id,stars,text,topic']
    for j, (text, topic) in enumerate(docs):
        body = text if j % 5 else f'"{text}\r\nsecond line, with comma"'
        rows.append(f"d{j},{'' if j % 8 == 2 else 1 + j % 3},{body},{topic}")
        if j == 4:
            rows.append("")  # a blank line, skipped
    (root / "reviews.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))
    docs = _documents(19, 7)
    lines = []
    for j, (text, topic) in enumerate(docs):
        record = {"text": text, "id": f"r{j}"}
        if j >= 4:
            record["label"] = None if j % 6 == 0 else topic  # a key first seen late
        lines.append(json.dumps(record))
        if j % 5 == 2:
            lines.append("   ")
    (root / "records.jsonl").write_bytes(("\n".join(lines[:10]) + "\r" + "\r\n".join(lines[10:])
                                          ).encode("utf-8"))
    (root / "tiny.jsonl").write_text("\n".join(json.dumps({"text": t, "y": i % 2})
                                               for i, t in enumerate(["orbit rocket", "goal team",
                                                                      "orbit goal"])) + "\n",
                                     encoding="utf-8")
    # encodings: Windows-1252 text named by encoding=, a UTF-8 byte-order mark, bytes invalid in it
    docs = _documents(9, 9)
    rows = ["text,topic"] + [f"{t} café crème délicieux,{topic}" for t, topic in docs]
    (root / "cp1252.csv").write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    folder = root / "cp1252_text"
    for j, (text, topic) in enumerate(docs):
        (folder / topic).mkdir(parents=True, exist_ok=True)
        (folder / topic / f"d{j}.txt").write_bytes(f"{text} déjà à".encode("cp1252"))
    lines = [json.dumps({"text": f"{t} naïve", "y": topic}, ensure_ascii=False)
             for t, topic in docs]
    lines[6] = lines[6][:-2] + ' \udcff"}'  # replaced below by an invalid byte
    data = "\n".join(lines).encode("utf-8", errors="surrogateescape")
    (root / "bom.jsonl").write_bytes(codecs.BOM_UTF8 + data)
    (root / "utf16.csv").write_bytes("text\norbit rocket\n".encode("utf-16"))
    # inputs that fail
    bad = root / "bad_rows"
    bad.mkdir(exist_ok=True)
    np.save(bad / "part-0.npy", _dense(m, 2, 40))
    np.save(bad / "part-1.npy", _dense(m + 1, 2, 41))
    bad = root / "bad_shard"
    bad.mkdir(exist_ok=True)
    for i in range(3):
        sp.save_npz(bad / f"part-{i:04d}.npz", _sparse(m, 2, 50 + i) * 10, compressed=False)
    _corrupt_member(bad / "part-0001.npz", "data.npy")
    lines = [json.dumps({"text": t}) for t, _ in _documents(6, 8)]
    lines[5] = '{"text": "broken'
    (root / "bad.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


TEXT = dict(min_df=2, max_df=0.9, max_features=15, ngram_range=(1, 2), vectorizer="count")

def resolve(options, root):
    """The options with each "@file" made a path under root."""
    return {k: str(Path(root) / v[1:]) if isinstance(v, str) and v.startswith("@") else v
            for k, v in options.items()}


#: name -> (loader, path, options): loader "columns" is load_columns, "corpus" load_corpus;
#: an option "@name" is the file name under the inputs' folder
CASES = {
    "npy": ("columns", "dense.npy", {}),
    "npy_t_f32": ("columns", "dense_t.npy", {"transpose": True}),
    "npy_as_f32": ("columns", "dense.npy", {"dtype": "float32"}),
    "npz_csr": ("columns", "csr.npz", {}),
    "npz_coo_t": ("columns", "coo_t.npz", {"transpose": True}),
    "mtx": ("columns", "sparse.mtx", {}),
    "mtx_dense": ("columns", "dense.mtx", {}),
    "mat": ("columns", "data.mat", {}),
    "npz_named": ("columns", "named.npz", {"variable": "X"}),
    "shards_npz": ("columns", "shards_npz", {}),
    "shards_npy_t": ("columns", "shards_npy_t", {"transpose": True}),
    "corpus_npy": ("corpus", "dense.npy", {"vocabulary": "@words.txt",
                                           "labels": "@labels11.txt"}),
    "corpus_mat": ("corpus", "data.mat", {"vocabulary": "words", "labels": "y"}),
    "corpus_npz": ("corpus", "named.npz", {"labels": "y"}),
    "corpus_shards_mat": ("corpus", "shards_mat", {"vocabulary": "words", "labels": "y"}),
    "text": ("corpus", "text", {"labels": "folders"}),
    "text_pruned": ("corpus", "text", TEXT),
    "csv": ("corpus", "reviews.csv", {"labels": "topic", "id_column": "id"}),
    "csv_stars_pruned": ("corpus", "reviews.csv", {"labels": "stars", **TEXT,
                                                   "vectorizer": "tfidf"}),
    "csv_fixed": ("corpus", "reviews.csv", {"vocabulary": ["orbit", "goal", "bread", "the",
                                                           "zzz"]}),
    "jsonl": ("corpus", "records.jsonl", {"labels": "label", "id_column": "id",
                                          "max_df": 5}),
    "tiny": ("corpus", "tiny.jsonl", {"labels": "y", "stop_words": None}),
    "csv_cp1252": ("corpus", "cp1252.csv", {"labels": "topic", "encoding": "cp1252"}),
    "text_cp1252": ("corpus", "cp1252_text", {"labels": "folders", "encoding": "cp1252"}),
    "jsonl_bom": ("corpus", "bom.jsonl", {"labels": "y"}),
}

#: the cases run on 4 ranks too (tiny has fewer documents than ranks)
FOUR = ["tiny", "shards_npz", "csv"]

#: name -> (loader, path, options) that fail; run on 3 ranks (the last one uncaught)
FAILURES = {
    "bad_rows": ("columns", "bad_rows", {}),
    "missing": ("corpus", "no-such-file.csv", {}),
    "pruned_away": ("corpus", "reviews.csv", {"min_df": 100, "max_df": 1000}),
    "different_args": ("corpus", "reviews.csv", {"min_df": "RANK"}),  # rank + 1 on each rank
    "bad_jsonl": ("corpus", "bad.jsonl", {}),
    "utf16": ("corpus", "utf16.csv", {}),  # splitting needs line ends of one byte
    "bad_shard": ("columns", "bad_shard", {}),  # part-0001.npz, read by rank 1 only, is corrupt
}
