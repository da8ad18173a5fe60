"""Reading an input file's bytes: as many as it holds, to a limit, even when it holds more
than its size said when it was opened (it grew)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cbdiag.files import InputError, read_bytes


def test_the_bytes_are_read_whole_and_a_file_over_the_limit_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.py"
    p.write_bytes(b"x = 1\n" * 50)
    assert read_bytes(p, 300) == b"x = 1\n" * 50  # (exactly the limit)
    with pytest.raises(InputError, match="larger than the limit"):
        read_bytes(p, 299)
    (tmp_path / "empty.py").write_bytes(b"")
    assert read_bytes(tmp_path / "empty.py", 10) == b""


def test_a_file_that_grew_after_its_size_was_read_is_read_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "a.py"
    p.write_bytes(b"y" * 100)
    real = os.fstat

    def stale(fd: int) -> os.stat_result:  # the size it had before it grew
        st = real(fd)
        return os.stat_result((*st[:6], 10, *st[7:10]))

    monkeypatch.setattr(os, "fstat", stale)
    assert read_bytes(p, 1000) == b"y" * 100
    with pytest.raises(InputError, match="larger than the limit"):
        read_bytes(p, 50)
