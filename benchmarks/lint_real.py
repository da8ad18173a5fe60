"""``cbdiag lint`` on real public generator repositories, against expectations written by hand.

``benchmarks/lint_real_expectations.json`` lists every transposed-convolution call site of the
repositories it names (at the commits it names) with what static analysis can prove there: a
violation code, ``clean``, or ``unresolved`` (and why). The repositories' code is not part of
cbdiag: fetch them first into one folder, one sub-folder per repository named ``owner+name``
holding its files (for example ``git clone`` then ``git checkout COMMIT``); ``paths`` names
the folders linted where not the whole repository. A container
expected ``none`` cannot be a stack (it holds at most one transposed convolution): it is as
expected when cbdiag reports nothing for it.

Prints, over the call sites: precision of the findings (at the default rules), recall of the
provable violations, how many sites ended as expected (clean / unresolved), every finding or
site cbdiag reported that the expectations do not list, whether every file's report is the
same when files are parsed whole (not as skeletons, see ``cbdiag.lint.skeleton``), and the
time against the floor "read + ``ast.parse``" of the same files (rounds interleaved).

Usage: python benchmarks/lint_real.py REPOS_DIR [--rounds 5]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from cbdiag.lint import DEFAULT_EXCLUDE, engine, iter_files
from cbdiag.lint.engine import check_files
from cbdiag.lint.rules import DEFAULT_SELECT

HERE = Path(__file__).resolve().parent


def _texts(root: Path, paths: list[str]) -> list[tuple[str, str]]:
    out = []
    for path, err in iter_files([root / p for p in paths or ["."]], list(DEFAULT_EXCLUDE)):
        if err is None:
            out.append((path, Path(path).read_text(encoding="utf-8", errors="replace")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repos", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    exp = json.loads((HERE / "lint_real_expectations.json").read_text())
    codes = set(DEFAULT_SELECT)
    sites = {(s["repo"], s["path"], s["line"]): s for s in exp["sites"]}
    tp = fp = fn = 0
    as_expected = 0
    unexpected: list[str] = []
    mismatched: list[str] = []
    seen: set[tuple[str, str, int]] = set()
    unparsed: list[str] = []
    all_texts = []
    for repo in exp["repos"]:
        root = args.repos / repo.replace("/", "+")
        if not root.is_dir():
            sys.exit(f"{root}: fetch {repo} at {exp['repos'][repo]} first")
        texts = _texts(root, exp.get("paths", {}).get(repo, []))
        all_texts.append((texts, str(root)))
        reports = check_files(texts, dict.fromkeys((p for p, _ in texts), str(root)))
        for rep in reports:
            rel = Path(rep.path).relative_to(root).as_posix()
            outcome: dict[int, str] = {}
            for v in rep.violations:
                if v.code.startswith("CBD9"):  # a file that does not parse (Python 2)
                    unparsed.append(f"{repo} {rel}:{v.line} {v.code} {v.message}")
                elif v.code in codes:
                    outcome.setdefault(v.line, v.code)
            for line, c in rep.clean:
                if codes & set(c):
                    outcome.setdefault(line, "clean")
            for u in rep.unresolved:
                if codes & set(u.codes):
                    outcome.setdefault(u.line, "unresolved")
            for line, got in outcome.items():
                key = (repo, rel, line)
                seen.add(key)
                s = sites.get(key)
                if s is None:
                    unexpected.append(f"{repo} {rel}:{line} {got}")
                    if got.startswith("CBD"):
                        fp += 1
                    continue
                want = s["expect"]
                if want.startswith("CBD"):
                    if got == want:
                        tp += 1
                    else:
                        fn += 1
                        mismatched.append(f"{repo} {rel}:{line} want {want}, got {got}")
                    continue
                if got.startswith("CBD"):
                    fp += 1
                    mismatched.append(f"{repo} {rel}:{line} want {want}, got {got}")
                elif got == want:
                    as_expected += 1
                else:
                    mismatched.append(f"{repo} {rel}:{line} want {want}, got {got}")
    # a container that cannot be a stack: as expected when nothing is reported for it
    as_expected += sum(1 for k, s in sites.items() if s["expect"] == "none" and k not in seen)
    missing = [k for k in sites if k not in seen and sites[k]["expect"] != "none"]
    fn += sum(1 for k in missing if sites[k]["expect"].startswith("CBD"))
    n_viol = sum(1 for s in sites.values() if s["expect"].startswith("CBD"))
    n_other = len(sites) - n_viol
    print(f"repositories: {len(exp['repos'])}, call sites: {len(sites)} ({n_viol} violations)")
    print(f"  precision: {tp}/{tp + fp} = {tp / max(tp + fp, 1):.3f} (false positives: {fp})")
    print(f"  recall of provable violations: {tp}/{n_viol} = {tp / max(n_viol, 1):.3f}")
    print(f"  clean / unresolved as expected: {as_expected}/{n_other}")
    print(f"  sites not accounted for: {len(missing)}")
    for k in missing:
        print(f"    {k[0]} {k[1]}:{k[2]} (want {sites[k]['expect']})")
    for m in mismatched:
        print(f"    mismatch: {m}")
    for u in unexpected:
        print(f"    not in the expectations: {u}")
    for u in unparsed:
        print(f"    not parsed (not counted): {u}")

    # the skeleton parse changes no report: the same findings, unresolved and clean calls
    def reports() -> list[tuple[str, list[str], list[str], list[str]]]:
        out = []
        for texts, root in all_texts:
            for r in check_files(texts, dict.fromkeys((p for p, _ in texts), root)):
                out.append(
                    (
                        r.path,
                        sorted(map(repr, r.violations)),
                        sorted(map(repr, r.unresolved)),
                        sorted(map(repr, r.clean)),
                    )
                )
        return out

    skeleton = reports()
    engine.SKIP_BODIES = False
    whole = reports()
    engine.SKIP_BODIES = True
    same = sum(1 for a, b in zip(skeleton, whole, strict=True) if a == b)
    print(f"  reports as with whole-file parsing: {same}/{len(whole)} files")
    for a, b in zip(skeleton, whole, strict=True):
        if a != b:  # (expected only for a syntax error in a body the analysis never reads)
            print(f"    differs: {a[0]}: skeleton {a[1:]}, whole {b[1:]}")
    # speed: the floor reads and parses the same files
    floor_t, lint_t = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for texts, _root in all_texts:
            for p, _ in texts:
                with contextlib.suppress(SyntaxError):
                    ast.parse(Path(p).read_text(encoding="utf-8", errors="replace"))
        floor_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for texts, root in all_texts:
            fresh = [(p, Path(p).read_text(encoding="utf-8", errors="replace")) for p, _ in texts]
            check_files(fresh, dict.fromkeys((p for p, _ in fresh), root))
        lint_t.append(time.perf_counter() - t0)
    floor_t.sort()
    lint_t.sort()
    print(
        f"  time: {lint_t[len(lint_t) // 2] / floor_t[len(floor_t) // 2]:.2f}x the read + "
        f"ast.parse floor ({sum(len(t) for t, _ in all_texts)} files, medians of {args.rounds})"
    )


if __name__ == "__main__":
    main()
