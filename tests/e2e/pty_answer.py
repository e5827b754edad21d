#!/usr/bin/env python3
"""Run a command on a pseudo-terminal, answer one prompt, and report what happened.
Usage: tty.py PROMPT_REGEX ANSWER TIMEOUT -- COMMAND...
Prints the whole terminal output, then a last line "EXIT <code>". Exits 0 unless the command
could not be run or the prompt never came (then 2)."""

import os
import pty
import re
import select
import sys
import time


def main():
    sep = sys.argv.index("--")
    prompt, answer, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    cmd = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    answered = False
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                # The terminal closed: the command has ended (or is about to).
                _, status = os.waitpid(pid, 0)
                sys.stdout.write(out.decode(errors="replace"))
                print(f"\nEXIT {os.waitstatus_to_exitcode(status)}")
                return 0 if answered else 2
            out += chunk
        if not answered and re.search(prompt.encode(), out):
            os.write(fd, answer.encode() + b"\n")
            answered = True
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            # drain
            try:
                while True:
                    r, _, _ = select.select([fd], [], [], 0.1)
                    if fd not in r:
                        break
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break
                    out += chunk
            except OSError:
                pass
            sys.stdout.write(out.decode(errors="replace"))
            print(f"\nEXIT {os.waitstatus_to_exitcode(status)}")
            return 0 if answered else 2
    os.kill(pid, 9)
    sys.stdout.write(out.decode(errors="replace"))
    print("\nEXIT timeout")
    return 2


if __name__ == "__main__":
    sys.exit(main())
