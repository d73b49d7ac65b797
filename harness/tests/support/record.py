#!/usr/bin/env python3
"""Records one exchange of the engine contract, then behaves exactly like the engine.

    record.py DIR ENGINE [ARGS...]

Reads the request from standard input, runs ENGINE with it, and saves both as
DIR/<n>-<kind>.request.json and DIR/<n>-<kind>.answer.json (n counts up per exchange), so
a test can validate every message of a real run against the contract's JSON Schema.
The engine's standard output, standard error and exit status pass through unchanged.
"""

import json
import os
import subprocess
import sys


def main():
    folder, command = sys.argv[1], sys.argv[2:]
    request = sys.stdin.buffer.read()
    kind = json.loads(request).get("kind", "unknown")
    os.makedirs(folder, exist_ok=True)
    # O_EXCL on a counter file name makes concurrent exchanges pick distinct numbers.
    n = 0
    while True:
        try:
            fd = os.open(os.path.join(folder, f"{n:05}.lock"), os.O_CREAT | os.O_EXCL)
            os.close(fd)
            break
        except FileExistsError:
            n += 1
    run = subprocess.run(command, input=request, capture_output=True, check=False)
    with open(os.path.join(folder, f"{n:05}-{kind}.request.json"), "wb") as out:
        out.write(request)
    with open(os.path.join(folder, f"{n:05}-{kind}.answer.json"), "wb") as out:
        out.write(run.stdout)
    sys.stdout.buffer.write(run.stdout)
    sys.stderr.buffer.write(run.stderr)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
