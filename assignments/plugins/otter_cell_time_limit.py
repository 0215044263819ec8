"""An otter-grader plugin that gives every cell of a graded notebook a time limit.

``otter run`` executes a submission with no time limit per cell, so one endless loop
would hang grading. This plugin's ``before_execution`` event inserts a first code cell
into the submission. That cell registers two IPython event callbacks in the grading
kernel: ``pre_run_cell`` arms ``signal.alarm(limit)`` and ``post_run_cell`` disarms it.
A cell that runs longer than the limit gets a ``TimeoutError``; otter executes
submissions with errors allowed, so execution goes on with the next cell and only the
questions that depend on the stopped cell lose points. Each test case otter runs gets
the same budget, so an answer that loops forever only when a hidden test calls it
fails that test case alone. If the student's code swallows the ``TimeoutError``
(``except Exception``), the alarm fires again one second later with an exception that
``except Exception`` does not catch.

The plugin ships inside each autograder zip (at its root and in ``files/``). It only
serves a plain ``otter run`` by hand, which checks the public tests alone: grading
(``assignments/tools/grade.py``, or the zip's ``run_autograder`` on Gradescope) does
not use it, because an alarm set inside the student's kernel can be disarmed from
there (``signal.alarm(0)``, ``SIG_IGN``, a long C call). Grading enforces the limit
from outside the kernel, in the sandbox's supervisor (``ngd_grading/supervisor.py``).
Otter imports plugins by name with ``importlib``, so for a plain ``otter run`` this
module must be importable: ``make setup`` adds this folder to the project's virtual
environment with a ``.pth`` file, or put the extracted zip on ``PYTHONPATH``.

Assignment config in the master notebook::

    plugins:
      - otter_cell_time_limit.CellTimeLimitPlugin:
          seconds: 60
    autograder_files:
      - otter_cell_time_limit.py

The environment variable ``NGD_CELL_TIME_LIMIT`` (seconds) overrides the configured
limit where grading runs; the tests use it to keep runs short. Platforms without
``SIGALRM`` (Windows) grade without a limit and say so in the plugin report.
"""

from __future__ import annotations

import os

from otter.plugins import AbstractOtterPlugin

ENV_VAR = "NGD_CELL_TIME_LIMIT"
DEFAULT_SECONDS = 60
CELL_MARKER = "# otter_cell_time_limit: per-cell time limit inserted by the autograder"

_SETUP_CELL = '''\
{marker}
def _otter_cell_time_limit_setup(seconds):
    import signal

    from IPython import get_ipython

    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        return

    class CellTimeLimitExceeded(BaseException):
        """Raised when a cell ignored the first TimeoutError and kept running."""

    message = (f"this cell ran longer than the grading time limit of {{seconds}} s "
               "and was stopped")
    fired = [0]

    def on_alarm(signum, frame):
        fired[0] += 1
        signal.alarm(1)  # fire again if the TimeoutError gets swallowed
        if fired[0] == 1:
            raise TimeoutError(message)
        raise CellTimeLimitExceeded(message)

    def arm(*args):
        fired[0] = 0
        signal.alarm(seconds)

    def disarm(*args):
        signal.alarm(0)
        fired[0] = 0

    signal.signal(signal.SIGALRM, on_alarm)
    events = get_ipython().events
    events.register("pre_run_cell", arm)
    events.register("post_run_cell", disarm)

    try:
        from otter.test_files.exception_test import test_case
    except ImportError:
        return
    if not hasattr(test_case, "_get_func_params"):
        return

    # Otter's test_case.call_func, with the alarm re-armed around each test case. It
    # calls the test function directly (no wrapper frame), because otter reports the
    # failing line from the traceback two frames below ExceptionTestFile.run.
    def call_func(self, global_environment):
        kwargs = {{name: global_environment if name == "env"
                  else global_environment.get(name, None)
                  for name in self._get_func_params()}}
        arm()
        try:
            self.test_func(**kwargs)
        except CellTimeLimitExceeded as error:
            raise TimeoutError(str(error)).with_traceback(
                error.__traceback__.tb_next) from None
        finally:
            arm()  # a fresh budget for the rest of the cell

    test_case.call_func = call_func


_otter_cell_time_limit_setup({seconds})
del _otter_cell_time_limit_setup
'''


def resolve_seconds(plugin_config) -> int:
    """The time limit in seconds: ``NGD_CELL_TIME_LIMIT`` if set, else the config's.

    Raises
    ------
    ValueError
        If either value is not a whole number of seconds.
    """
    config = plugin_config if isinstance(plugin_config, dict) else {}
    raw = os.environ.get(ENV_VAR) or config.get("seconds", DEFAULT_SECONDS)
    try:
        seconds = int(float(raw))
    except (TypeError, ValueError):
        raise ValueError(
            f"the cell time limit must be a number of seconds; got {raw!r} (from "
            f"{ENV_VAR} or the plugin's 'seconds'). Use e.g. 60; 0 disables it."
        ) from None
    return seconds


def setup_cell_source(seconds: int) -> str:
    """The source of the cell that arms the time limit in the grading kernel."""
    return _SETUP_CELL.format(marker=CELL_MARKER, seconds=int(seconds))


class CellTimeLimitPlugin(AbstractOtterPlugin):
    """Insert a first cell that stops any cell running longer than the limit."""

    @property
    def seconds(self) -> int:
        return resolve_seconds(self.plugin_config)

    def before_execution(self, submission):
        import nbformat

        source = setup_cell_source(self.seconds)
        if isinstance(submission, str):  # a Python script submission
            return source + "\n" + submission
        submission.cells.insert(0, nbformat.v4.new_code_cell(source))
        return submission

    def after_grading(self, results):
        notebook = getattr(results, "notebook", None)
        stopped = 0
        for cell in getattr(notebook, "cells", []):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and output.get("ename") in (
                    "TimeoutError",
                    "CellTimeLimitExceeded",
                ):
                    stopped += 1
        self._stopped_cells = stopped

    def generate_report(self):
        import signal

        if not hasattr(signal, "SIGALRM"):
            return "no per-cell time limit: this platform has no SIGALRM"
        line = f"per-cell time limit: {self.seconds} s"
        stopped = getattr(self, "_stopped_cells", None)
        if stopped:
            line += f"; {stopped} cell(s) stopped by the limit"
        return line
