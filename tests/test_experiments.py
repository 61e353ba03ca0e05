"""The commands that reproduce the paper's tables, on reduced settings so that they cannot rot."""

import numpy as np
import pytest

from nnmf import experiments

from nnmf.datasets import load_synthetic_noise


def test_table1_command_reduced(tmp_path, capsys):
    out = tmp_path / "table1.md"
    status = experiments.main(["table1", "--seeds", "2", "--max-iter", "4", "--quiet",
                               "--threads", "1",
                               "--out", str(out)])
    assert status == 0
    text = out.read_text(encoding="utf-8")
    assert text == capsys.readouterr().out
    for heading in ("## Random initialisation (seeded), 2 seeds", "## NNDSVD initialisation",
                    "### Unsupervised", "### Semi-supervised", "### Supervised",
                    "### Neural NMF against the targets (random init)",
                    "### Neural NMF against the targets (nndsvd init)"):
        assert heading in text
    for method in experiments.METHODS:
        assert f"| {method} |" in text and f"| *{method} (paper)* |" in text
    assert "| (9,) | (9, 4) | (9, 4, 2) |" in text
    assert "0.310" in text            # a paper number is shown beside ours
    assert "0.0236 (k = 9)" in text   # the SVD floor
    assert "†" in text                # 4 iterations: the unconverged fits are flagged


def test_table1_records():
    synthetic_noise = load_synthetic_noise()
    records = experiments.run_table1(synthetic_noise, seeds=2, max_iter=3,
                                     ranks=((9, 4),), n_threads=1)
    assert len(records) == 3 * 3 * 2   # modes x methods x seeds
    for r in records:
        assert 0 < r["err"] < 1 and r["time"] > 0
        if r["mode"] == "unsupervised":
            assert np.isnan(r["acc"])
        else:
            assert 0 <= r["acc"] <= 1
    # the seed is the only source of randomness
    again = experiments.run_table1(synthetic_noise, seeds=2, max_iter=3, ranks=((9, 4),),
                                   modes=("semi-supervised",), n_threads=1)
    first = [r for r in records if r["mode"] == "semi-supervised"]
    assert [r["err"] for r in again] == [r["err"] for r in first]
    text = experiments.table1_markdown(records)
    assert "(9, 4)" in text and "### Supervised" in text
    # loss: only Neural NMF's data term changes
    energy = experiments.run_table1(synthetic_noise, seeds=2, max_iter=3, ranks=((9, 4),),
                                    modes=("semi-supervised",), n_threads=1, loss="energy")
    for r, e in zip(first, energy):
        assert (r["err"] == e["err"]) == (r["method"] != "Neural NMF")


def test_news20_command_reduced(tmp_path, capsys):
    out = tmp_path / "news20.md"
    status = experiments.main(["news20", "--seeds", "1", "--max-iter", "3", "--quiet",
                               "--init", "random",
                               "--threads", "1",
                               "--out", str(out)])
    assert status == 0
    text = out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert "| semi-supervised | Neural NMF |" in text
    assert "loss=reconstruction" in text   # the settings line
    assert "### Deep NMF, unsupervised" in text
    assert "Layer 1 (6 topics):" in text and "- 0.9:" in text


def test_experiments_bad_arguments():
    with pytest.raises(SystemExit):
        experiments.main(["table2"])
    with pytest.raises(SystemExit, match="positive"):
        experiments.main(["table1", "--seeds", "0"])
    with pytest.raises(SystemExit, match="--init"):
        experiments.main(["table1", "--init", "svd"])
