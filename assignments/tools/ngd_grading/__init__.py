"""The sandboxed grading runtime shipped inside every autograder zip.

``supervisor`` runs a submission in the sandbox and collects the answers the hidden
tests' probes export as plain data; ``checker`` checks those answers in a process the
student's code never touched; ``plain`` is the plain-data format between the two.
"""
