"""Check a submission's exported answers against the hidden tests (grader side).

``python checker.py <autograder dir> <answers.jsonl>`` prints one JSON object:
``{"tests": {test: {"question", "points", "score", "passed", "reason"}}, "flags": []}``.

It runs in a process of its own that the student's code never touched: it reads only
the hidden tests (``ngd/hidden/<question>.py`` in the autograder) and the answers file
the sandbox's supervisor wrote, decodes the answers as plain data
(``ngd_grading.plain``: arrays, numbers, strings, SymPy objects rebuilt from built-in
classes only) and calls each test's ``check_*`` function on them. An assertion or any
other exception fails that test; decoding and checking each answer gets
``CHECK_SECONDS`` seconds, an answer that is not plain data scores nothing, and the
process limits its own memory and CPU time (``limit_resources``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ngd_grading import plain  # noqa: E402

CHECK_SECONDS = 60


class CheckTimeout(Exception):
    pass


def load_tests(autograder: Path) -> list[dict]:
    return json.loads((autograder / "ngd" / "hidden.json").read_text())["tests"]


def select_answers(answers_file: Path, tests: list[dict]) -> tuple[dict, list[str]]:
    """The answer of each test: the last one from the kernel that ran the notebook
    from the top (generation 0); later kernels only fill in tests it never reached."""
    known = {t["test"] for t in tests}
    chosen: dict[str, tuple[int, dict]] = {}
    flags = []
    if not answers_file.is_file():
        return {}, flags
    with open(answers_file, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
                payload = json.loads(record["payload"])
                test = payload["test"]
                generation = int(record["generation"])
            except (ValueError, KeyError, TypeError, RecursionError):
                flags.append("malformed answer")
                continue
            if test not in known or test != record.get("expected_test"):
                flags.append("answer published outside its probe")
                continue
            previous = chosen.get(test)
            if previous is None or generation <= previous[0]:
                chosen[test] = (generation, payload)
    return {test: payload for test, (_, payload) in chosen.items()}, sorted(set(flags))


def _opaque(value, depth=0):
    """The first :class:`plain.Opaque` inside a decoded answer, or None."""
    if isinstance(value, plain.Opaque):
        return value
    if depth < 30 and isinstance(value, (list, tuple)):
        items = value
    elif depth < 30 and isinstance(value, dict):
        items = value.values()
    else:
        return None
    for item in items:
        found = _opaque(item, depth + 1)
        if found is not None:
            return found
    return None


def _on_alarm(signum, frame):
    raise CheckTimeout


def run_checks(autograder: Path, answers_file: Path) -> dict:
    tests = load_tests(autograder)
    answers, flags = select_answers(answers_file, tests)
    namespaces: dict[str, dict] = {}
    results = {}
    signal.signal(signal.SIGALRM, _on_alarm)
    for test in tests:
        question = test["question"]
        if question not in namespaces:
            source = (autograder / "ngd" / "hidden" / f"{question}.py").read_text()
            namespace: dict = {"__name__": f"hidden_{question}"}
            exec(compile(source, f"hidden/{question}.py", "exec"), namespace)
            namespaces[question] = namespace
        check = namespaces[question][test["check"]]
        result = {
            "question": question,
            "points": test["points"],
            "score": 0.0,
            "passed": False,
            "reason": "",
        }
        payload = answers.get(test["test"])
        if payload is None:
            result["reason"] = "no answer (the probe never ran to the end)"
        elif not payload.get("ok"):
            result["reason"] = f"the answer raised {str(payload.get('error'))[:60]}"
        else:
            try:
                # Decoding is bounded too: a crafted SymPy text or a huge answer must
                # not hold the checker past the limit.
                signal.alarm(CHECK_SECONDS)
                try:
                    value = plain.decode(payload["value"])
                    strange = _opaque(value)
                    if strange is None:
                        check(value)
                finally:
                    signal.alarm(0)
                if strange is not None:
                    # Something the exporter could not express, or a rejected SymPy
                    # text: it scores nothing, whatever the check would say.
                    flags.append("answer not plain data")
                    result["reason"] = f"not plain data: {strange.what}"[:120]
                else:
                    result.update(passed=True, score=float(test["points"]))
            except CheckTimeout:
                result["reason"] = "checking the answer took too long"
            except plain.PlainDataError:
                result["reason"] = "the answer is not plain data"
                flags.append("answer not plain data")
            except Exception as error:  # noqa: BLE001 - any failure fails the test
                result["reason"] = result["reason"] or f"wrong ({type(error).__name__})"
        results[test["test"]] = result
    return {"tests": results, "flags": sorted(set(flags))}


def limit_resources() -> None:
    """This process's own limits: what it decodes comes from a student's kernel."""
    import resource

    memory = int(os.environ.get("NGD_CHECKER_MEMORY", str(4 * 2**30)))
    for limit, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, 900),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
    ):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def main(argv: list[str]) -> int:
    limit_resources()
    autograder, answers_file = Path(argv[0]), Path(argv[1])
    print(json.dumps(run_checks(autograder, answers_file)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
