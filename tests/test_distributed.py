"""Scoring on a Dask LocalCluster: the same rows as here, nothing lost when a worker dies,
a file that kills its workers reported, pooled equal to local, --dask and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster
from PIL import Image

from cbdiag import batch
from cbdiag.batch import Input, Settings, score_batch, score_many
from cbdiag.distributed import DaskRunner

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the poison task below


def _images(d: Path, n: int, side: int = 128, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        a = rng.normal(128, 12, (side, side))
        if i % 4 == 0:
            a += 2.0 * np.tile([[1, -1], [-1, 1]], (side // 2, side // 2))
        p = d / f"{i:03d}.png"
        Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_rows_and_pool_are_those_of_a_local_run(client: Client, tmp_path: Path) -> None:
    _images(tmp_path / "d", 30)
    (tmp_path / "d" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    local = score_many([str(tmp_path / "d")], order="input", pooled=True)
    here = list(local)
    remote = score_many([str(tmp_path / "d")], client=client, order="input", pooled=True)
    there = list(remote)
    assert [s.row for s in there] == [s.row for s in here]
    assert there[-1].error is not None  # the bad file: one error row
    a, b = local.pooled(), remote.pooled()
    assert a is not None and b is not None
    assert b.n_images == a.n_images == 30
    assert b.amplitude == pytest.approx(a.amplitude, rel=1e-9)
    assert b.significance == pytest.approx(a.significance, rel=1e-9)
    for s in a.per_period:
        assert b.per_period[s].power == pytest.approx(a.per_period[s].power, rel=1e-9, abs=1e-12)


def test_a_worker_killed_mid_run_loses_nothing(client: Client, tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 80, side=192)
    want = {s.path: s.row for s in score_many([str(tmp_path / "d")])}
    pids = client.run(os.getpid)  # worker address -> its process
    seen: list[str] = []
    killed = False
    for s in score_many([str(tmp_path / "d")], client=client, order="completion"):
        seen.append(s.path)
        if len(seen) == 6 and not killed:
            os.kill(next(iter(pids.values())), signal.SIGKILL)  # its tasks are in flight
            killed = True
    assert killed and len(seen) == len(files) == len(set(seen))
    assert {p: want[p] for p in seen} == want
    deadline = time.monotonic() + 60  # the nanny starts the worker again
    while len(client.nthreads()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert set(client.run(os.getpid).values()) != set(pids.values())


def _poison(b: list[tuple[int, str]], settings: Settings) -> batch.Done:
    """A task whose worker dies on one file (as on a file that exhausts its memory)."""
    if any(p.endswith("poison.png") for _, p in b):
        os._exit(3)
    return score_batch(b, settings)


def test_a_file_that_keeps_killing_workers_is_one_error_row(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 12)
    (tmp_path / "d" / "poison.png").write_bytes(files[0].read_bytes())
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        items = batch.expand([str(tmp_path / "d")])
        rows = list(batch._stream(items, lambda: DaskRunner(c, Settings(), task=_poison), "input"))
    assert [Path(s.path).name for s in rows] == [f.name for f in files] + ["poison.png"]
    assert all(s.error is None for s in rows[:-1])
    assert "kept dying" in (rows[-1].error or "")


def _cbdiag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cbdiag", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def test_cli_dask_local_matches_the_local_document(tmp_path: Path) -> None:
    _images(tmp_path / "d", 10)
    a = _cbdiag("score", str(tmp_path / "d"), "--format", "json", "--pooled")
    b = _cbdiag("score", str(tmp_path / "d"), "--format", "json", "--pooled", "--dask", "local:2")
    assert a.returncode == b.returncode == 1, b.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    assert da["results"] == db["results"]
    assert db["pooled"]["amplitude"] == pytest.approx(da["pooled"]["amplitude"], rel=1e-9)


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_interrupted_then_resumed_has_each_input_once(tmp_path: Path) -> None:
    files = _images(tmp_path / "d", 90, side=320)
    out = tmp_path / "out.jsonl"
    args = ["score", str(tmp_path / "d"), "-f", "json-lines", "--pooled", "--dask", "local:1"]
    p = subprocess.Popen(
        [sys.executable, "-m", "cbdiag", *args, "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # interrupted once some rows are written
        if out.exists() and out.read_text().count("\n") >= 8:
            break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C: the whole process group, workers included
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert f"--resume {out}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    first = [r for r in _rows(out) if "path" in r]
    assert 0 < len(first) < len(files)
    # the pool's statistics account for the rows up to the length saved beside them
    with np.load(tmp_path / "out.jsonl.cbdiag.npz") as z:
        offset = int(z["offset"])
    kept = out.read_bytes()[:offset].decode().count("\n") - 1
    assert 0 < kept <= len(first)
    with out.open("a") as fh:  # a line the interruption cut short
        fh.write('{"path": "/half')
    r = _cbdiag(*args, "--resume", str(out))
    assert r.returncode == 1, r.stderr
    assert f"{kept} rows were already in" in r.stderr
    lines = _rows(out)
    assert lines[0]["format"] == "json-lines" and "pooled" in lines[-1]
    rows = [x for x in lines if "path" in x]
    assert sorted(x["path"] for x in rows) == sorted(str(f) for f in files)
    full = tmp_path / "full.jsonl"
    f = _cbdiag("score", str(tmp_path / "d"), "-f", "json-lines", "--pooled", "-o", str(full))
    assert f.returncode == 1
    ref = _rows(full)
    assert {x["path"]: x for x in rows} == {x["path"]: x for x in ref if "path" in x}
    got, want = lines[-1]["pooled"], ref[-1]["pooled"]
    assert got["n_images"] == want["n_images"] == len(files)
    assert got["amplitude"] == pytest.approx(want["amplitude"], rel=1e-6)
    assert got["significance"] == pytest.approx(want["significance"], rel=1e-6)


def test_cli_without_dask_installed_says_what_to_install(tmp_path: Path) -> None:
    _images(tmp_path / "d", 1)
    code = (
        "import sys; sys.modules['distributed'] = None; from cbdiag.cli import main; "
        f"sys.argv = ['cbdiag', 'score', {str(tmp_path / 'd')!r}, '--dask', 'local']; main()"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.startswith("error: ") and "pip install 'cbdiag[dask]'" in p.stderr
    assert "Traceback" not in p.stderr


def test_cli_unreachable_scheduler_is_one_error_line(tmp_path: Path) -> None:
    _images(tmp_path / "d", 1)
    env = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    p = _cbdiag("score", str(tmp_path / "d"), "--dask", "tcp://127.0.0.1:9", env=env)
    assert p.returncode == 2
    assert p.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(p.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [("local:0", "local:N needs N from 1"), ("local:x", "local:N needs N from 1")],
)
def test_cli_bad_local_cluster_size(tmp_path: Path, spec: str, message: str) -> None:
    _images(tmp_path / "d", 1)
    p = _cbdiag("score", str(tmp_path / "d"), "--dask", spec)
    assert p.returncode == 2 and message in p.stderr


def test_workers_in_another_folder_read_relative_paths(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _images(tmp_path / "d", 3)
    monkeypatch.chdir(tmp_path)
    old = client.run(os.getcwd)
    client.run(os.chdir, "/")  # as workers started elsewhere on shared storage
    try:
        rows = list(score_many(["d"], client=client, order="input"))
    finally:
        for addr, cwd in old.items():
            client.run(os.chdir, cwd, workers=[addr])
    assert [s.path for s in rows] == [os.path.join("d", f.name) for f in files]
    assert all(s.error is None for s in rows)


def test_input_order_is_kept_on_the_cluster(client: Client) -> None:
    """Errors named up front and rows from the cluster, in input order."""
    items = iter([Input("a.png", "bad a"), Input("/no/such.png"), Input("b.png", "bad b")])
    rows = list(batch._stream(items, lambda: DaskRunner(client, Settings()), "input"))
    assert [s.path for s in rows] == ["a.png", "/no/such.png", "b.png"]
    assert "no such file" in (rows[1].error or "").lower()
