"""Start one grading kernel as an unprivileged user (run by the supervisor as root).

``python kernel_launcher.py <uid> <cpu seconds> <connection file>``: make the
connection file readable, then exec ``setpriv`` (new uid and gid, no groups, no
capabilities, no new privileges) and ``prlimit`` (CPU, address space, processes, file
size, open files, no core files) in front of ``python -m ipykernel_launcher``.
"""

import os
import sys

uid, cpu, connection_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
MEMORY = int(os.environ.get("NGD_KERNEL_MEMORY", str(4 * 2**30)))
os.chmod(connection_file, 0o644)
os.chdir(os.environ.get("NGD_KERNEL_CWD", "/"))
command = [
    "prlimit",
    f"--cpu={cpu}:{cpu + 5}",
    f"--as={MEMORY}",
    "--nproc=256",
    f"--fsize={64 * 2**20}",
    "--nofile=512",
    "--core=0",
    "--",
    sys.executable,
    "-m",
    "ipykernel_launcher",
    "-f",
    connection_file,
]
if os.geteuid() == 0 and uid != 0:
    command = [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
        *command,
    ]
os.execvp(command[0], command)
