"""Run one submission and collect its probe answers (the sandbox's supervisor).

``python supervisor.py <job.json>``. The job names the notebook, the probes of the
hidden tests (their source, the answer names they take, and the question after whose
``grader.check`` cell they run), the per-cell time limit, the kernel's uid and the
output folder. The supervisor is trusted code: in the sandbox it is the only process
that may write the output folder, and the kernel runs under another uid, so nothing
the submission does can forge the supervisor's files, signal it or stop it.

For every code cell of the submission, then for the probes, it asks the kernel to run
the code and waits at most the per-cell limit. When time is up it interrupts the
kernel (SIGINT) and, if the kernel is not idle two seconds later (the student ignored
SIGINT, caught ``KeyboardInterrupt`` or is stuck in one long C call), kills every
process of the kernel's uid and starts a fresh kernel for the cells that follow.
A kernel that exits (``exit()``, ``os._exit``, a crash) is replaced the same way.

Each probe's answer is appended to ``answers.jsonl`` as soon as it arrives (flushed
and synced), so a question probed before a hang or an exit keeps its answer;
``report.json`` lists the cells stopped, the kernels killed or lost, and the time.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

MIME = "application/x-ngd-answer+json"
MAX_ANSWER_BYTES = 20 * 2**20
MAX_TOTAL_BYTES = 100 * 2**20
GRACE = 2.0  # seconds between the interrupt and the kill
SETUP_LIMIT = 120.0  # seconds for the grader's own setup cell
HERE = Path(__file__).resolve().parent
CHECK_CALL = re.compile(r"""grader\.check\(\s*["']([^"']+)["']""")


class Kernel:
    """One kernel under the limits, replaced when it dies or has to be killed."""

    def __init__(self, job: dict, report: dict):
        from jupyter_client import KernelManager

        self.job, self.report = job, report
        self.generation = -1
        runtime = Path(job["runtime_dir"])
        spec_dir = runtime / "kernels" / "ngd-grading"
        spec_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            str(HERE / "kernel_launcher.py"),
            str(job["kernel_uid"]),
            str(int(job["kernel_cpu_seconds"])),
            "{connection_file}",
        ]
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": argv,
                    "display_name": "grading",
                    "language": "python",
                    "interrupt_mode": "signal",
                }
            )
        )
        os.environ["JUPYTER_PATH"] = str(runtime)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime / "rt")
        self._manager_class = KernelManager
        self.km = self.kc = None
        self.start()

    def start(self):
        self.generation += 1
        self.km = self._manager_class(kernel_name="ngd-grading")
        env = dict(self.job["kernel_env"])
        # The kernel's own stdout and stderr (os.write(1, ...), C code) go nowhere:
        # they would otherwise reach the grader through this process's pipes.
        self.km.start_kernel(
            env=env,
            cwd=self.job["workdir"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def kill(self):
        """Kill the kernel and every process it left behind."""
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
        try:
            self.km.kill_kernel()
        except Exception:  # noqa: BLE001
            pass
        if self.job.get("in_sandbox"):
            # In the sandbox's pid namespace, kill(-1) reaches every process except
            # pid 1 (bwrap) and this supervisor: the kernel and anything it forked.
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        elif os.geteuid() == 0 and int(self.job["kernel_uid"]) != 0:
            kill_uid(int(self.job["kernel_uid"]))
        try:
            self.km.cleanup_resources()
        except Exception:  # noqa: BLE001
            pass

    def run(self, code: str, limit: float):
        """Run ``code``; return (status, answers) with status ok/error/timeout/dead."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + limit
        answers, status, size = [], None, 0
        interrupted_at = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now >= deadline:
                try:
                    self.km.interrupt_kernel()
                except Exception:  # noqa: BLE001
                    pass
                interrupted_at = now
            if interrupted_at is not None and now >= interrupted_at + GRACE:
                self.kill()
                return "killed", answers
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if not self.km.is_alive():
                    return "dead", answers
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "display_data" and MIME in content.get("data", {}):
                text = content["data"][MIME]
                if isinstance(text, str) and len(text) <= MAX_ANSWER_BYTES:
                    size += len(text)
                    if size <= MAX_ANSWER_BYTES:
                        answers.append(text)
            elif kind == "error":
                status = "timeout" if interrupted_at is not None else "error"
            elif kind == "status" and content.get("execution_state") == "idle":
                if interrupted_at is not None and status is None:
                    status = "timeout"
                return status or "ok", answers


def kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (the kernel's own uid)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except OSError:
                    pass


def probe_cell(probe: dict) -> str:
    """The code that runs one hidden test's probe in the kernel."""
    return (
        "__ngd_ns__ = {}\n"
        f"exec(compile({probe['source']!r}, '<hidden test probe>', 'exec'),"
        " __ngd_ns__)\n"
        f"__ngd_emit__({probe['test']!r}, __ngd_ns__[{probe['function']!r}], "
        f"{list(probe['names'])!r})\n"
        "del __ngd_ns__\n"
    )


def plan(job: dict) -> list[dict]:
    """Cells in order: the setup cell, the submission's code cells, the probes."""
    import nbformat

    nb = nbformat.read(job["notebook"], as_version=4)
    probes = job["probes"]
    steps = [{"kind": "setup", "code": (HERE / "kernel_export.py").read_text()}]
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        steps.append({"kind": "cell", "index": index, "code": source})
        for question in dict.fromkeys(CHECK_CALL.findall(source)):
            for probe in probes:
                if probe["question"] == question:
                    steps.append({"kind": "probe", "probe": probe, "phase": "after"})
    for probe in probes:
        steps.append({"kind": "probe", "probe": probe, "phase": "end"})
    return steps


def main(job_file: str) -> int:
    job = json.loads(Path(job_file).read_text())
    out = Path(job["out_dir"])
    answers_file = open(out / "answers.jsonl", "a", encoding="utf-8")
    report = {"cells": 0, "timeouts": [], "killed": [], "died": [], "setup": "ok"}
    started = time.monotonic()
    written = 0

    def save_report():
        report["seconds"] = round(time.monotonic() - started, 2)
        tmp = out / "report.json.tmp"
        tmp.write_text(json.dumps(report))
        tmp.replace(out / "report.json")

    save_report()
    steps = plan(job)
    try:
        kernel = Kernel(job, report)
    except Exception as error:  # noqa: BLE001 - reported, then the run ends
        report["setup"] = f"the kernel did not start ({type(error).__name__})"
        save_report()
        return 1
    limit = float(job["cell_limit"])
    deadline = started + float(job["run_limit"])
    # Time kept for the probes at the end, whatever the cells before them took.
    n_end = sum(1 for s in steps if s.get("phase") == "end")
    cells_deadline = deadline - n_end * (limit + GRACE + 1.0)
    for step in steps:
        now = time.monotonic()
        if now > deadline or (step.get("phase") != "end" and now > cells_deadline):
            report["run_limit_reached"] = True
            if now > deadline:
                break
            continue
        if kernel.generation > 0 and step["kind"] == "setup":
            continue
        code = step["code"] if step["kind"] != "probe" else probe_cell(step["probe"])
        # The setup cell is the grader's, not the student's: it gets a generous limit.
        status, answers = kernel.run(
            code, SETUP_LIMIT if step["kind"] == "setup" else limit
        )
        if step["kind"] == "setup" and status != "ok":
            report["setup"] = status
        where = step.get("index", step["kind"])
        if step["kind"] == "probe":
            where = f"probe {step['probe']['test']} ({step['phase']})"
        else:
            report["cells"] += 1
        if status == "timeout":
            report["timeouts"].append(where)
        for text in answers:
            written += len(text)
            if written > MAX_TOTAL_BYTES:
                break
            record = {
                "generation": kernel.generation,
                "phase": step.get("phase"),
                "expected_test": step["probe"]["test"]
                if step["kind"] == "probe"
                else None,
                "payload": text,
            }
            answers_file.write(json.dumps(record) + "\n")
        answers_file.flush()
        os.fsync(answers_file.fileno())
        if status in ("killed", "dead"):
            (report["killed"] if status == "killed" else report["died"]).append(where)
            if status == "dead":
                kernel.kill()
            try:
                kernel.start()
            except Exception as error:  # noqa: BLE001
                report["setup"] = f"a new kernel did not start ({type(error).__name__})"
                break
            # A fresh kernel gets the export helpers again.
            kernel.run(steps[0]["code"], SETUP_LIMIT)
        save_report()
    kernel.kill()
    save_report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
