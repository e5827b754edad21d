#!/usr/bin/env python3
"""Run a command on a pseudo-terminal and hold a dialog with it: answer each prompt in turn.
Usage: pty_dialog.py TIMEOUT [REGEX ANSWER]... -- COMMAND...
An ANSWER that starts with "$ " is a shell command whose output (stripped) is typed, computed
when its prompt appears (for one-time codes). Prints the whole terminal output, then a last
line "EXIT <code>" and "ANSWERED <n>". Exits 0 when the command ran and every prompt came, else 2."""

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time


def main():
    sep = sys.argv.index("--")
    timeout = float(sys.argv[1])
    pairs = sys.argv[2:sep]
    steps = list(zip(pairs[0::2], pairs[1::2]))
    cmd = sys.argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    # A terminal 120 columns wide, as many are (an unset size reads as 80 columns): the spinner's
    # line fits the terminal, and what a test reads on it should not be cut short.
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    seen = 0  # output already matched against a prompt
    step = 0
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if fd in r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                _, status = os.waitpid(pid, 0)
                break
            out += chunk
        if step < len(steps):
            m = re.search(steps[step][0].encode(), out[seen:])
            if m:
                seen += m.end()
                answer = steps[step][1]
                if answer.startswith("$ "):
                    answer = subprocess.run(answer[2:], shell=True, capture_output=True,
                                            text=True).stdout.strip()
                os.write(fd, answer.encode() + b"\n")
                step += 1
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
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
            break
    if status is None:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        out += b"\n[timed out]"
    sys.stdout.write(out.decode(errors="replace"))
    print(f"\nEXIT {os.waitstatus_to_exitcode(status)}")
    print(f"ANSWERED {step}")
    return 0 if step == len(steps) else 2


if __name__ == "__main__":
    sys.exit(main())
