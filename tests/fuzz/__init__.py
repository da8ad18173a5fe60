"""Coverage-guided fuzzing of cbdiag's readers (atheris/libFuzzer): ``python -m tests.fuzz``.

Nothing here imports cbdiag: each ``fuzz_<target>.py`` imports it itself, instrumented when it
runs under atheris.
"""
