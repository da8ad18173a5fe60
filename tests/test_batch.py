"""cbdiag.batch: inputs streamed, each file once, bounded batches, every input one row."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cbdiag
from cbdiag import batch
from cbdiag.batch import Done, Input, Once, Seen, path_key, score_many
from cbdiag.periodic import pool
from cbdiag.spectrum import pool_results, score_image


def _images(d: Path, n: int, side: int = 96, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        a = rng.normal(128, 12, (side, side))
        if i % 3 == 0:  # a faint period-2 pattern in every third image
            a += 2.5 * np.tile([[1, -1], [-1, 1]], (side // 2, side // 2))
        p = d / f"{i:03d}.png"
        Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def test_rows_are_those_of_score_image_one_per_input(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 7)
    (tmp_path / "d" / "zz_bad.png").write_bytes(b"not an image")
    rows = list(score_many([str(tmp_path / "d")], order="input"))
    assert [Path(s.path).name for s in rows] == [f.name for f in files] + ["zz_bad.png"]
    for s, f in zip(rows, files, strict=False):
        assert s.row == score_image(str(f)).as_dict()
    assert rows[-1].error is not None and "not an image" in rows[-1].error
    assert [s.index for s in rows] == list(range(8))


def test_process_pool_gives_the_same_rows_in_completion_order(tmp_path: Path) -> None:
    _images(tmp_path / "d", 12)
    here = {s.path: s.row for s in score_many([str(tmp_path / "d")])}
    pooled = list(score_many([str(tmp_path / "d")], jobs=2, order="completion"))
    assert len(pooled) == 12 and {s.path: s.row for s in pooled} == here
    assert sorted(s.index for s in pooled) == list(range(12))


def test_pooled_statistics_equal_the_sum_of_each_images(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 9)
    stream = score_many([str(tmp_path / "d")], jobs=2, pooled=True, order="completion")
    list(stream)
    got = stream.pooled()
    assert got is not None
    # the reference: each image scored on its own, its statistics summed here
    want = pool_results([score_image(str(f)) for f in files])
    assert got.n_images == want.n_images == 9
    assert got.amplitude == pytest.approx(want.amplitude, rel=1e-9)
    assert got.significance == pytest.approx(want.significance, rel=1e-9)
    total = pool(score_image(str(f)).stats for f in files)
    for s, st in stream.stats.items():
        np.testing.assert_allclose(st.coef, total[s].coef, rtol=1e-12)
        np.testing.assert_allclose(st.null, total[s].null, rtol=1e-12)


def test_a_file_named_several_ways_is_scored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _images(tmp_path / "d", 3)
    os.symlink(files[0], tmp_path / "link.png")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{files[1]}\n{files[1]}\n\n{tmp_path / 'd' / '.' / '002.png'}\n")
    monkeypatch.chdir(tmp_path)
    stream = score_many(["d", "./d/000.png", str(tmp_path / "link.png")], files_from=[str(listing)])
    rows = list(stream)
    assert sorted(Path(s.path).name for s in rows) == ["000.png", "001.png", "002.png"]
    assert stream.repeats == 5


def test_listed_files_are_checked_where_they_are_read(tmp_path: Path) -> None:
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / "pipe.png")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tmp_path / 'missing.png'}\n{tmp_path / 'fifo' / 'pipe.png'}\n")
    rows = list(score_many([], files_from=str(listing), order="input"))  # one listing: a str
    errors = [s.error or "" for s in rows]
    assert len(rows) == 2
    assert "no such file" in errors[0].lower()
    assert "not a regular file" in errors[1] or "pipe" in errors[1]
    # a listing that cannot be read is a usage error, before anything is scored
    with pytest.raises(cbdiag.CbdiagError, match=r"--files-from .*nolist.txt: no such file"):
        score_many([], files_from=[str(tmp_path / "nolist.txt")])
    with pytest.raises(cbdiag.CbdiagError, match="directory, not a list of files"):
        score_many([], files_from=[str(tmp_path)])


def test_inputs_are_read_lazily(tmp_path: Path) -> None:
    """An endless generator of paths: the first rows come without reading it all."""
    files = _images(tmp_path / "d", 2)
    taken = 0

    def endless() -> Iterator[str]:
        nonlocal taken
        for f in itertools.cycle([str(files[0]), str(tmp_path / "no.png")]):
            taken += 1
            yield f if taken <= 2 else str(tmp_path / f"no{taken}.png")

    rows = list(itertools.islice(score_many(endless(), order="input"), 50))
    assert len(rows) == 50 and rows[0].error is None
    assert taken < 50 + 2 * batch.MAX_BATCH * batch.BATCHES_PER_WORKER


class _Backwards:
    """A runner that hands batches back newest first: input order must hold rows back."""

    workers = 2

    def __init__(self) -> None:
        self.queue: list[list[tuple[int, str]]] = []
        self.returned = 0
        self.most_queued = 0

    def submit(self, b: list[tuple[int, str]]) -> None:
        self.queue.append(b)
        self.most_queued = max(self.most_queued, len(self.queue))

    def next(self) -> tuple[list[tuple[int, str]], Done]:
        b = self.queue.pop()
        return b, Done([(i, {"path": p, "error": None}) for i, p in b], None, 0.0)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("order", ["input", "completion"])
def test_what_is_outstanding_stays_bounded(order: str) -> None:
    run = _Backwards()
    items = (Input(f"f{i}.png") if i % 7 else Input(f"f{i}.png", "bad") for i in range(5000))
    out: list[int] = []
    stream = batch._stream(items, lambda: run, order)
    for s in stream:
        out.append(s.index)
    assert sorted(out) == list(range(5000))
    if order == "input":
        assert out == list(range(5000))
    assert run.most_queued <= batch.BATCHES_PER_WORKER * run.workers


def test_seen_agrees_with_a_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Seen, "RECENT", 64)  # many merges of the recent keys
    rng = np.random.default_rng(3)
    keys = [int(k) for k in rng.integers(0, 2**63, 3000, dtype=np.int64)] + [0, 2**64 - 1]
    keys += keys[:500]  # repeats
    seen, ref = Seen(), set()
    for k in keys:
        assert (k in seen) == (k in ref)
        seen.add(k)
        ref.add(k)
    assert len(seen) == len(ref)
    assert all(k in seen for k in ref)
    assert not any(k in seen for k in (1, 2, 3) if k not in ref)
    assert seen.nbytes <= 8 * len(ref)


def test_once_skips_what_is_done(tmp_path: Path) -> None:
    done = Seen()
    done.add(path_key(str(tmp_path / "a.png")))
    once = Once(done)
    assert not once.admit(Input(str(tmp_path / "." / "a.png")))
    assert once.admit(Input(str(tmp_path / "b.png")))
    assert not once.admit(Input(str(tmp_path / "b.png")))
    assert (once.resumed, once.repeats) == (1, 1)


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(cbdiag.CbdiagError, match="order must be one of"):
        score_many(["x"], order="random")
    with pytest.raises(cbdiag.CbdiagError, match="jobs must be from 1"):
        score_many(["x"], jobs=0)
    with pytest.raises(cbdiag.CbdiagError, match="min_amplitude must be a finite number"):
        score_many(["x"], min_amplitude=float("nan"))  # a gate that fails closed
    with pytest.raises(cbdiag.CbdiagError, match="stride must be from 2 to 32"):
        score_many(["x"], stride=1)
    with pytest.raises(cbdiag.CbdiagError, match="a Dask client or jobs, not both"):
        score_many(["x"], client=object(), jobs=2)


def test_one_path_as_a_string_is_one_path(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 2)
    rows = list(score_many(str(tmp_path / "d"), order="input"))
    assert [s.path for s in rows] == [str(f) for f in files]


def test_an_error_row_names_its_file(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "small.png")
    (row,) = list(score_many([str(tmp_path / "small.png")], stride=16))
    assert (row.error or "").startswith(f"{tmp_path / 'small.png'}: image 40x40 is too small")


def test_the_public_name() -> None:
    assert cbdiag.score_many is score_many and "score_many" in cbdiag.__all__


def _poison(b: list[tuple[int, str]], settings: batch.Settings) -> Done:
    """A task whose worker process dies on one file (as on a file that exhausts memory)."""
    if any(p.endswith("poison.png") for _, p in b):
        os._exit(3)
    return batch.score_batch(b, settings)


def test_a_pool_worker_that_dies_loses_no_other_file(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 10)
    (tmp_path / "d" / "poison.png").write_bytes(files[0].read_bytes())
    want = {s.path: s.row for s in score_many([str(tmp_path / "d")])}
    items = batch.expand([str(tmp_path / "d")])
    run = batch.PoolRunner(batch.Settings(), 2, task=_poison)
    rows = list(batch._stream(items, lambda: run, "input"))
    assert [Path(s.path).name for s in rows] == [f.name for f in files] + ["poison.png"]
    assert {s.path: s.row for s in rows[:-1]} == {
        p: r for p, r in want.items() if "poison" not in p
    }
    assert "died while scoring it, alone" in (rows[-1].error or "")
