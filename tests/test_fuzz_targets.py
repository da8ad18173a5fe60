"""The fuzz harness (tests/fuzz/) without atheris: every seed runs clean through its target,
and a target lets through what it must report (any exception that is not a CbdiagError)."""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest

import cbdiag.audio
import cbdiag.graph
import cbdiag.images
import cbdiag.layers
import cbdiag.lint
import cbdiag.lint.engine
import cbdiag.lint.skeleton
import cbdiag.weights
from cbdiag.errors import CbdiagError
from tests.fuzz import __main__ as runner
from tests.fuzz import _harness, make_corpus, replay

FUZZ = Path(__file__).resolve().parent / "fuzz"

#: The function each target hands the input to, as (module, attribute).
READERS: dict[str, tuple[ModuleType, str]] = {
    "image": (cbdiag.images, "load_image"),
    "npz": (cbdiag.weights, "load_checkpoint"),
    "npy": (cbdiag.weights, "load_checkpoint"),
    "safetensors": (cbdiag.weights, "read_safetensors"),
    "onnx": (cbdiag.graph, "read_model"),
    "layers": (cbdiag.layers, "parse_layers"),
    "lint": (cbdiag.lint.engine, "check_source"),
    "skeleton": (cbdiag.lint.skeleton, "parse"),
    "config": (cbdiag.lint, "load_config"),
    "wav": (cbdiag.audio, "load_audio"),
}


def _target(name: str) -> ModuleType:
    return importlib.import_module(f"tests.fuzz.fuzz_{name}")


def _seeds(name: str) -> list[Path]:
    return sorted(p for p in (FUZZ / "corpus" / name).iterdir() if p.is_file())


def test_every_target_has_a_module_seeds_and_a_dictionary() -> None:
    assert set(READERS) == set(runner.TARGETS)
    for name in runner.TARGETS:
        assert callable(_target(name).TestOneInput)
        assert _seeds(name), f"no seeds for {name}"
        assert (FUZZ / "dicts" / f"{name}.dict").is_file()


def test_the_corpus_stays_small() -> None:
    total = sum(p.stat().st_size for p in (FUZZ / "corpus").rglob("*") if p.is_file())
    assert total < 300 * 1024


@pytest.mark.parametrize("name", runner.TARGETS)
def test_every_seed_runs_clean(name: str) -> None:
    target = _target(name)
    for seed in _seeds(name):
        target.TestOneInput(seed.read_bytes())


@pytest.mark.parametrize("name", runner.TARGETS)
def test_an_exception_that_is_not_a_cbdiag_error_escapes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, attr = READERS[name]

    def boom(*_args: object, **_kw: object) -> None:
        raise ValueError("planted")

    monkeypatch.setattr(module, attr, boom)
    with pytest.raises(ValueError, match="planted"):
        _target(name).TestOneInput(_seeds(name)[0].read_bytes())


@pytest.mark.parametrize("name", runner.TARGETS)
def test_a_cbdiag_error_is_the_expected_answer(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module, attr = READERS[name]

    def refuse(*_args: object, **_kw: object) -> None:
        raise CbdiagError("refused")

    monkeypatch.setattr(module, attr, refuse)
    _target(name).TestOneInput(b"\x00not an input")


def test_the_seeds_are_what_make_corpus_writes(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from PIL import Image

    made = make_corpus.seeds()
    for target, files in made.items():
        for fname, data in files.items():
            kept = (FUZZ / "corpus" / target / fname).read_bytes()
            if target == "image":  # encoders may differ in bytes across versions, not pixels
                a, b = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(kept))
                assert (a.format, a.mode, a.size) == (b.format, b.mode, b.size), fname
                assert a.tobytes() == b.tobytes(), fname
            else:
                assert data == kept, f"{target}/{fname}: run tests/fuzz/make_corpus.py"
    written = make_corpus.write(tmp_path)
    assert len(written) == sum(len(f) for f in made.values())


def test_replay_reports_where_an_escaping_exception_was_raised(tmp_path: Path) -> None:
    def target(data: bytes) -> None:
        with contextlib.suppress(CbdiagError):
            text = data.decode()
            cbdiag.layers.parse_pair(text, "--kernel")  # "nope": a CbdiagError, the answer
            cbdiag.layers.parse_layers(None)  # type: ignore[arg-type]  # escapes from cbdiag

    f = tmp_path / "input"
    f.write_bytes(b"nope")
    assert replay.replay_one(target, f, timeout=5)["outcome"] == "ok"
    f.write_bytes(b"3x4")
    res = replay.replay_one(target, f, timeout=5)
    assert (res["outcome"], res["type"]) == ("exception", "AttributeError")  # None.strip
    assert res["cbdiag"].startswith("cbdiag/layers.py:")
    assert "parse_layers" in "\n".join(res["traceback"])


def test_a_target_replays_files_without_atheris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []
    f = tmp_path / "input"
    f.write_bytes(b"abc")
    monkeypatch.setitem(sys.modules, "atheris", None)  # import atheris -> ImportError
    monkeypatch.setattr(sys, "argv", ["fuzz_x.py", str(f)])
    _harness.fuzz(seen.append, "fuzz_x.py")
    assert seen == [b"abc"]
    monkeypatch.setattr(sys, "argv", ["fuzz_x.py", "-max_total_time=5"])
    with pytest.raises(SystemExit, match="atheris"):
        _harness.fuzz(seen.append, "fuzz_x.py")
