"""The graded assignments: releases, local autograding, time limit, and no leaks.

One ``otter assign`` per assignment (session fixture, in tmp), then ``grade.py`` runs
``otter run`` on the solutions notebook, the blank student release and a deliberately
broken submission. The book page and the built book must not contain solutions.
"""

from __future__ import annotations

import ast
import csv
import html
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT

TOOLS = ROOT / "assignments" / "tools"
PLUGINS = ROOT / "assignments" / "plugins"
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(PLUGINS))

import grade  # noqa: E402
import otter_cell_time_limit as plugin  # noqa: E402
import release  # noqa: E402

pytestmark = pytest.mark.slow

ASSIGNMENTS = release.available_assignments()
BOOK_PAGE = ROOT / "book" / "assignments.md"
SHORT_LIMIT = 5  # seconds per cell for the deliberately broken submission
MARKERS = (
    "BEGIN SOLUTION",
    "END SOLUTION",
    "# SOLUTION",
    "BEGIN TESTS",
    "END TESTS",
    "# HIDDEN",
    "ASSIGNMENT CONFIG",
)
NUMPY_REPR = re.compile(r"np\.(True_|False_|float\d+|int\d+|str_)\b|array\(")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def released(tmp_path_factory) -> Path:
    """``release.py`` once per assignment (without otter's own self-check)."""
    out = tmp_path_factory.mktemp("dist") / "assignments"
    for name in ASSIGNMENTS:
        release.release(name, out, run_tests=False, quiet=True)
    return out


def solutions_notebook(released: Path, name: str) -> Path:
    return release.solutions_path(released, name)


def student_notebook(released: Path, name: str) -> Path:
    return released / name / "student" / f"{name}.ipynb"


def run_grade_cli(
    name: str,
    submissions: Path,
    out: Path,
    dist: Path,
    *extra: str,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """``grade.py`` exactly as ``make grade`` calls it, plus the release folder."""
    cmd = [
        sys.executable,
        str(TOOLS / "grade.py"),
        "--assignment",
        name,
        "--submissions",
        str(submissions),
        "--out",
        str(out),
        "--dist",
        str(dist),
        *extra,
    ]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=1800,
    )


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def graded(released, tmp_path_factory) -> dict[str, dict]:
    """Per assignment: CSV rows of grade.py on the solutions and the blank release."""
    results = {}
    for name in ASSIGNMENTS:
        folder = tmp_path_factory.mktemp(f"submissions-{name}")
        (folder / "solutions.ipynb").write_bytes(
            solutions_notebook(released, name).read_bytes()
        )
        (folder / "blank.ipynb").write_bytes(
            student_notebook(released, name).read_bytes()
        )
        out = folder.parent / f"grades-{name}" / f"{name}.csv"
        proc = run_grade_cli(name, folder, out, released, "--jobs", "2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        rows = read_csv(out)
        results[name] = {
            "rows": {row["submission"]: row for row in rows},
            "columns": list(rows[0].keys()),
            "stdout": proc.stdout,
        }
    return results


def manifest(released: Path, name: str) -> dict:
    return json.loads((released / name / release.MANIFEST_NAME).read_text())


def auto_questions(released: Path, name: str) -> list[dict]:
    return [q for q in manifest(released, name)["questions"] if not q["manual"]]


# -------------------------------------------------- secrets of a master notebook
def _source(cell) -> str:
    return cell.source if isinstance(cell.source, str) else "".join(cell.source)


def _boundary(cell, word: str) -> bool:
    return cell.cell_type == "raw" and bool(
        re.match(rf"#\s+{word}\b", _source(cell), flags=re.IGNORECASE)
    )


def master_secrets(name: str) -> tuple[set[str], set[str]]:
    """(secret, visible) lines of a master: solutions and hidden tests, the rest."""
    nb = nbformat.read(release.master_path(name), as_version=4)
    secret, visible = set(), set()
    in_solution = in_tests = False
    for cell in nb.cells:
        src = _source(cell)
        if _boundary(cell, "BEGIN SOLUTION"):
            in_solution = True
        elif _boundary(cell, "END SOLUTION"):
            in_solution = False
        elif _boundary(cell, "BEGIN TESTS"):
            in_tests = True
        elif _boundary(cell, "END TESTS"):
            in_tests = False
        elif in_tests:
            lines = src.splitlines()
            hidden = bool(lines) and lines[0].strip().upper().startswith("# HIDDEN")
            (secret if hidden else visible).update(lines)
        elif in_solution and cell.cell_type == "markdown":
            # A written answer is prose: its secrets are its sentences, whatever the
            # line wrapping (a wrapped fragment such as "whatever the
            # parameterisation." is no answer, and a chapter may well contain it).
            secret.update(_sentences(src))
        elif in_solution and cell.cell_type == "code":
            inline = False
            for line in src.splitlines():
                if re.match(r"\s*# BEGIN SOLUTION", line):
                    inline = True
                elif re.match(r"\s*# END SOLUTION", line):
                    inline = False
                elif inline or line.rstrip().endswith("# SOLUTION"):
                    secret.add(line.rsplit("# SOLUTION", 1)[0])
                else:
                    visible.add(line)
        else:
            visible.update(src.splitlines())
    strip = {line.strip() for line in visible}
    return {s.strip() for s in secret} - strip - {""}, strip


def _sentences(text: str) -> list[str]:
    """The sentences of a piece of prose, with white space folded."""
    return re.split(r"(?<=[.!?])\s+", " ".join(text.split()))


def hidden_test_sources(zip_file: Path) -> list[str]:
    """The hidden tests' functions in an autograder zip (``ngd/hidden/<q>.py``)."""
    sources = []
    with zipfile.ZipFile(zip_file) as zf:
        for member in zf.namelist():
            if member.startswith("ngd/hidden/") and member.endswith(".py"):
                text = zf.read(member).decode()
                sources += [b for b in re.split(r"\n(?=def )", text)
                            if b.startswith("def ")]
    return sources


def secret_lines(
    name: str, zip_file: Path, student: Path, min_length: int
) -> list[str]:
    """Solution and hidden-test lines a student must never see, as they would be quoted.

    Lines shorter than ``min_length`` and lines that occur anywhere in what students do
    see (the master's prompts and public tests, the release's public tests) are left
    out, so that what remains is distinctive.
    """
    secret, visible = master_secrets(name)
    for block in hidden_test_sources(zip_file):
        secret |= {line.strip() for line in block.splitlines()[1:]}  # minus the def
    nb = nbformat.read(student, as_version=4)
    public = "\n".join(nb.metadata["otter"]["tests"].values())
    seen = "\n".join(visible) + "\n" + public
    return sorted(
        line for line in secret if len(line) >= min_length and line not in seen
    )


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def decoded_text(path: Path) -> str:
    """A file's text as a reader sees it: notebook strings decoded, HTML unescaped."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        return "\n".join(_strings(json.loads(raw)))
    if path.suffix in (".html", ".htm"):
        return html.unescape(re.sub(r"<[^>]+>", "", raw))
    return raw


TEXT_SUFFIXES = {
    ".ipynb",
    ".py",
    ".md",
    ".txt",
    ".json",
    ".html",
    ".htm",
    ".js",
    ".yml",
    ".yaml",
    ".csv",
    ".tex",
    ".rst",
}


def find_secrets(
    folder: Path, secrets: list[str], markers=MARKERS, only=lambda path: True
) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or not only(path):
            continue
        text = decoded_text(path)
        text += "\n" + " ".join(text.split())  # prose secrets, whatever the wrapping
        found += [
            f"{path.relative_to(folder)}: marker {m!r}" for m in markers if m in text
        ]
        found += [f"{path.relative_to(folder)}: {s!r}" for s in secrets if s in text]
    return found


# ------------------------------------------------------------------ the masters
def test_three_assignments_with_ten_questions_and_a_written_one():
    assert len(ASSIGNMENTS) >= 3
    manifests = [release.read_manifest(release.master_path(n)) for n in ASSIGNMENTS]
    assert all(len(m["questions"]) >= 3 for m in manifests)
    assert sum(len(m["questions"]) for m in manifests) >= 10
    assert any(q["manual"] for m in manifests for q in m["questions"])
    for m in manifests:
        assert m["cell_time_limit"] == 60


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_questions_have_explicit_points_and_public_and_hidden_tests(name):
    nb = nbformat.read(release.master_path(name), as_version=4)
    question, kinds = None, {}
    for cell in nb.cells:
        src = _source(cell)
        if _boundary(cell, "BEGIN QUESTION"):
            question = yaml.safe_load(src)
            assert isinstance(question.get("points"), (int, float)), question
            kinds[question["name"]] = set()
        elif question and cell.cell_type == "code" and src.startswith("def test_"):
            kinds[question["name"]].add("public")
        elif question and cell.cell_type == "code" and src.startswith("# HIDDEN"):
            kinds[question["name"]].add("hidden")
    m = release.read_manifest(release.master_path(name))
    for q in m["questions"]:
        if q["manual"]:
            assert kinds[q["name"]] == set(), f"{name} {q['name']}: manual, no tests"
        else:
            assert kinds[q["name"]] == {"public", "hidden"}, f"{name} {q['name']}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_tests_are_asserts_with_no_numpy_reprs(name, released):
    """Pass/fail comes from asserts, never from a recorded repr (numpy 1 vs 2)."""
    nb = nbformat.read(release.master_path(name), as_version=4)
    config = yaml.safe_load(_source(nb.cells[0]))
    assert config["tests"]["ok_format"] is False, "use exception-based (assert) tests"
    in_tests = False
    for cell in nb.cells:
        if _boundary(cell, "BEGIN TESTS"):
            in_tests = True
        elif _boundary(cell, "END TESTS"):
            in_tests = False
        elif in_tests:
            outputs = json.dumps(cell.get("outputs", []))
            assert not NUMPY_REPR.search(outputs), outputs
            tree = ast.parse(_source(cell))
            assert isinstance(tree.body[0], ast.FunctionDef)
            if _source(cell).startswith("# HIDDEN"):
                # probe_<t> in the kernel, check_<t> (which asserts) in the grader
                test = release.split_hidden_cell(_source(cell), "q", name)
                check = next(n for n in tree.body if getattr(n, "name", "") ==
                             test["check"])
                assert any(isinstance(node, ast.Assert) for node in ast.walk(check))
                assert "check_" not in test["probe_source"]
            else:
                assert any(isinstance(node, ast.Assert)
                           for node in ast.walk(tree.body[0]))
    with zipfile.ZipFile(release.zip_path(released, name)) as zf:
        for member in zf.namelist():
            if member.startswith("tests/"):
                text = zf.read(member).decode()
                assert "OK_FORMAT = False" in text
                assert not re.search(r"np\.(True_|False_)", text), member
                assert "hidden=True" not in text, "hidden tests never go to otter"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_master_randomness_is_seeded(name):
    nb = nbformat.read(release.master_path(name), as_version=4)
    code = "\n".join(_source(c) for c in nb.cells if c.cell_type == "code")
    assert re.search(r"np\.random\.default_rng\(\d+\)", code)
    assert not re.search(r"default_rng\(\s*\)", code), "every generator needs a seed"
    assert not re.search(r"np\.random\.(seed|rand|randn|normal|poisson)\(", code)


# ------------------------------------------------------------ release contents
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_layout_and_plugin_inside_the_zip(name, released):
    folder = released / name
    assert sorted(p.name for p in (folder / "student").iterdir()) == [f"{name}.ipynb"]
    zip_file = release.zip_path(released, name)
    assert zip_file.name == f"{name}-autograder.zip"
    with zipfile.ZipFile(zip_file) as zf:
        names = set(zf.namelist())
        config = json.loads(zf.read("otter_config.json"))
        shipped = zf.read(plugin.__name__ + ".py").decode()
    assert {
        f"{plugin.__name__}.py",
        f"files/{plugin.__name__}.py",
        release.ZIP_MANIFEST_NAME,
    } <= names
    assert shipped == (PLUGINS / f"{plugin.__name__}.py").read_text()
    assert config["plugins"] == [
        {f"{plugin.__name__}.CellTimeLimitPlugin": {"seconds": 60}}
    ]
    assert config["assignment_name"] == name
    # The solutions live apart from everything a grading machine gets.
    assert not list((folder / "autograder").glob("*.ipynb"))
    assert solutions_notebook(released, name).is_file()
    with zipfile.ZipFile(zip_file) as zf:
        names = set(zf.namelist())
        run_autograder = zf.read("run_autograder").decode()
        tests = json.loads(zf.read("ngd/hidden.json"))["tests"]
    assert {f"ngd_grading/{f}" for f in release.RUNTIME_FILES} <= names
    assert "ngd_grading/gradescope.py" in run_autograder
    assert not [n for n in names if n.endswith(".ipynb")]
    points = {q["name"]: q["points"] for q in manifest(released, name)["questions"]}
    for question in {t["question"] for t in tests}:
        share = sum(t["points"] for t in tests if t["question"] == question)
        assert share == pytest.approx(points[question])


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_release_has_no_solution_hidden_test_or_marker(name, released):
    zip_file = release.zip_path(released, name)
    assert hidden_test_sources(zip_file), "the autograder zip should have hidden tests"
    secrets = secret_lines(name, zip_file, student_notebook(released, name), 20)
    assert len(secrets) >= 20, "the master should have solution lines to look for"
    leaks = find_secrets(released / name / "student", secrets)
    assert not leaks, leaks
    assert not release.find_leaks(released / name / "student")


def test_book_page_lists_every_question_without_solutions(released):
    text = BOOK_PAGE.read_text()
    for name in ASSIGNMENTS:
        heading = re.search(rf"^###[^\n]*`{name}`[^\n]*$", text, re.M)
        assert heading, f"no section for {name} on the book page"
        section = text[heading.end():].split("\n#", 1)[0]
        for q in manifest(released, name)["questions"]:
            pattern = (
                rf"^\|\s*{q['name']}\s*\|[^\n]*\|\s*{q['points']:g}\s*\|\s*"
                rf"{'by hand' if q['manual'] else 'autograded'}\s*\|$"
            )
            assert re.search(pattern, section, re.M), (
                f"no table row for {name} {q['name']}"
            )
        secrets = secret_lines(
            name, release.zip_path(released, name), student_notebook(released, name), 20
        )
        leaks = [line for line in secrets if line in text]
        assert not leaks, leaks
    assert not [m for m in MARKERS if m in text]


def test_built_book_has_no_solutions_or_hidden_tests(built_book, released):
    secrets = []
    for name in ASSIGNMENTS:
        secrets += secret_lines(
            name, release.zip_path(released, name), student_notebook(released, name), 30
        )
    sources = built_book / "_sources"
    assert sources.is_dir()
    # The pages and their sources (not the vendored JavaScript under _static).
    leaks = find_secrets(
        built_book,
        secrets,
        only=lambda path: path.suffix == ".html" or sources in path.parents,
    )
    assert not leaks, leaks[:20]


# ------------------------------------------------------------------- grading
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_score_full_marks_on_their_autograder(name, graded, released):
    row = graded[name]["rows"]["solutions.ipynb"]
    assert row["error"] == ""
    assert row["flags"] == "", "an honest notebook raises no flag"
    for q in auto_questions(released, name):
        assert float(row[q["name"]]) == q["points"], (q, row)
    possible = manifest(released, name)["autograded_points"]
    assert float(row["total"]) == float(row["possible"]) == possible
    manual = [q for q in manifest(released, name)["questions"] if q["manual"]]
    assert manual and all(row[f"{q['name']}_manual"] == "" for q in manual)
    assert "grade by hand" in graded[name]["stdout"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_blank_release_scores_zero_without_crashing(name, graded, released):
    row = graded[name]["rows"]["blank.ipynb"]
    assert row["error"] == ""
    for q in auto_questions(released, name):
        assert float(row[q["name"]]) == 0.0, (q, row)
    assert float(row["total"]) == 0.0
    assert float(row["possible"]) == manifest(released, name)["autograded_points"]


def test_grade_csv_columns(graded, released):
    for name in ASSIGNMENTS:
        m = manifest(released, name)
        expected = (
            ["student", "submission", "sha256"]
            + [q["name"] for q in m["questions"] if not q["manual"]]
            + ["total", "possible"]
            + [f"{q['name']}_manual" for q in m["questions"] if q["manual"]]
            + ["flags", "error", "seconds"]
        )
        assert graded[name]["columns"] == expected
        assert sorted(graded[name]["rows"]) == ["blank.ipynb", "solutions.ipynb"]


BROKEN = "hw2_natural_gradient"
# One solution cell replaced per kind of failure; q1 is left intact.
BROKEN_CELLS = {
    "def poisson_ngd(": (
        "q2",
        'raise RuntimeError("this answer is broken on purpose")\n',
    ),
    "def gaussian_grad(": (
        "q3",
        "def gaussian_grad(x, mu, log_sigma):\n    while True:\n        pass\n\n\n"
        "def gaussian_fisher(mu, log_sigma):\n    while True:\n        pass\n\n\n"
        "def ngd_path(x, mu0, log_sigma0, lr, n_steps):\n"
        "    while True:\n        pass\n\n\n"
        "while True:  # this cell never ends\n    pass\n",
    ),
    "def poisson_fvp(": (
        "q4",
        "def poisson_fvp(theta, X, v):  # the wrong shape: (d, 1)\n"
        "    mu = np.exp(X @ theta)\n"
        "    return (X.T @ (mu * (X @ v)) / X.shape[0]).reshape(-1, 1)\n\n\n"
        "def cg_natural_gradient(theta, X, y, damping=1e-3, tol=1e-10,\n"
        "                        max_iter=None):\n"
        "    return 1.0  # the wrong type: a float, not an array of shape (d,)\n",
    ),
}


def test_broken_answers_lose_only_their_own_points(released, tmp_path):
    nb = nbformat.read(solutions_notebook(released, BROKEN), as_version=4)
    replaced = set()
    for cell in nb.cells:
        for needle, (question, source) in BROKEN_CELLS.items():
            if cell.cell_type == "code" and needle in cell.source:
                cell.source = source
                replaced.add(question)
    assert replaced == {"q2", "q3", "q4"}
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(nb, folder / "broken.ipynb")
    out = tmp_path / "broken.csv"
    proc = run_grade_cli(
        BROKEN, folder, out, released, env={"NGD_CELL_TIME_LIMIT": str(SHORT_LIMIT)}
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (row,) = read_csv(out)
    assert row["error"] == ""
    points = {q["name"]: q["points"] for q in auto_questions(released, BROKEN)}
    assert float(row["q1"]) == points["q1"], row  # still graded, full marks
    for question in ("q2", "q3", "q4"):  # raises / runs forever / wrong shape and type
        assert float(row[question]) == 0.0, (question, row)
    assert float(row["total"]) == points["q1"]


def test_grade_cli_errors_name_the_problem(tmp_path, capsys):
    assert (
        grade.main(
            [
                "--assignment",
                "no_such_hw",
                "--submissions",
                str(tmp_path),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown assignment 'no_such_hw'" in err
    assert all(name in err for name in ASSIGNMENTS)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a submission")
    assert (
        grade.main(
            [
                "--assignment",
                ASSIGNMENTS[0],
                "--submissions",
                str(empty),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "no submissions in" in capsys.readouterr().err
    assert (
        grade.main(
            [
                "--assignment",
                ASSIGNMENTS[0],
                "--submissions",
                str(tmp_path / "missing"),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_grade_builds_a_missing_autograder_first(monkeypatch, tmp_path, released):
    built = []

    def fake_release(name, out, *, run_tests, quiet):
        built.append((name, run_tests))
        target = release.zip_path(out, name)
        target.parent.mkdir(parents=True)
        target.write_bytes(release.zip_path(released, name).read_bytes())

    monkeypatch.setattr(release, "release", fake_release)
    name = ASSIGNMENTS[0]
    path = grade.autograder_zip(name, tmp_path / "dist", None)
    assert built == [(name, True)]
    assert path == release.zip_path(tmp_path / "dist", name) and path.is_file()


# ------------------------------------------------------------ the time limit
def test_time_limit_comes_from_the_environment_then_the_config(monkeypatch):
    monkeypatch.delenv(plugin.ENV_VAR, raising=False)
    assert plugin.resolve_seconds({"seconds": 45}) == 45
    assert plugin.resolve_seconds({}) == plugin.DEFAULT_SECONDS == 60
    monkeypatch.setenv(plugin.ENV_VAR, "7")
    assert plugin.resolve_seconds({"seconds": 45}) == 7
    monkeypatch.setenv(plugin.ENV_VAR, "soon")
    with pytest.raises(ValueError, match="number of seconds; got 'soon'"):
        plugin.resolve_seconds({})


def test_plugin_inserts_the_time_limit_cell_first(monkeypatch):
    monkeypatch.setenv(plugin.ENV_VAR, "5")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    instance = plugin.CellTimeLimitPlugin("sub.ipynb", {}, {"seconds": 60})
    nb = instance.before_execution(nb)
    assert nb.cells[0].source.startswith(plugin.CELL_MARKER)
    assert "_otter_cell_time_limit_setup(5)" in nb.cells[0].source
    assert nb.cells[1].source == "x = 1"
    compile(nb.cells[0].source, "<time limit cell>", "exec")
    assert "per-cell time limit: 5 s" in instance.generate_report()


def test_plain_otter_run_enforces_the_time_limit(released, tmp_path):
    # The limit must hold where the zip is run by hand, not only through grade.py:
    # plain `otter run`, with nothing put on PYTHONPATH.
    nb = nbformat.read(solutions_notebook(released, BROKEN), as_version=4)
    needle = "def gaussian_grad("
    question, _ = BROKEN_CELLS[needle]
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    cell.source = (
        "def gaussian_grad(x, mu, log_sigma):\n    while True:\n        pass\n"
    )
    nbformat.write(nb, tmp_path / "loop.ipynb")
    zip_file = released / BROKEN / "autograder" / f"{BROKEN}-autograder.zip"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NGD_CELL_TIME_LIMIT"] = str(SHORT_LIMIT)
    otter = Path(sys.executable).with_name("otter")
    proc = subprocess.run(
        [str(otter), "run", "-a", str(zip_file), "-o", str(tmp_path), "loop.ipynb"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    scores = {t["name"]: t.get("score") for t in results["tests"]}
    points = {q["name"]: q["points"] for q in auto_questions(released, BROKEN)}
    assert float(scores[question]) == 0.0
    for other in set(points) - {question}:
        assert float(scores[other]) == points[other], (other, scores)
