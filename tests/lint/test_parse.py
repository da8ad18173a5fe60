"""``cbdiag lint``'s own option parser (``cbdiag.cli.parse``): the usual grammar, and usage
errors as one ``error:`` line with exit 2."""

from __future__ import annotations

import pytest

from cbdiag.cli.lint import parser


def parse(*argv: str) -> dict[str, object]:
    return vars(parser().parse(list(argv)))


def test_defaults() -> None:
    got = parse()
    assert got["paths"] == [] and got["select"] is None and got["jobs"] == 1
    assert got["force"] is False and got["output"] is None and "help" not in got


def test_values_attached_separate_and_repeated() -> None:
    got = parse(
        "a.py", "--select", "CBD101", "--select=CBD1", "-j4", "--output-format=json", "b.py"
    )
    assert got["paths"] == ["a.py", "b.py"]
    assert got["select"] == ["CBD101", "CBD1"]
    assert got["jobs"] == 4 and got["output_format"] == "json"
    assert parse("-j", "2", "-o", "out.txt")["jobs"] == 2
    assert parse("-oout.txt")["output"] == "out.txt"
    assert parse("--exit-zero", "--show-unresolved")["exit_zero"] is True


def test_dash_is_an_operand_and_double_dash_ends_options() -> None:
    assert parse("-")["paths"] == ["-"]
    assert parse("--stdin-filename", "-", "-")["stdin_filename"] == "-"
    got = parse("--force", "--", "--select", "-x.py")
    assert got["paths"] == ["--select", "-x.py"] and got["force"] is True and got["select"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--select"], "argument --select: expected one argument"),
        (["--select", "--force"], "argument --select: expected one argument"),
        (["-j", "two"], "argument -j/--jobs: invalid int value: 'two'"),
        (["--force=yes"], "argument --force: ignored explicit argument 'yes'"),
        (["--sel", "CBD101"], "unrecognized arguments: --sel"),  # no abbreviations
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == f"error: {message} (see 'cbdiag lint --help')\n"


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse("a.py", "--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: cbdiag lint [OPTIONS] [PATHS]...")
    for flag in ("--select CODES", "-j, --jobs N", "-o, --output FILE", "--show-unresolved"):
        assert flag in out
    # after --, a -h is a file name, not a request for help
    assert parse("--", "-h")["paths"] == ["-h"]
