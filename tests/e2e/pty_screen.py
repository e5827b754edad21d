#!/usr/bin/env python3
"""What a terminal shows at the end of a captured output stream (stdin): the lines as a
terminal leaves them after carriage returns, line feeds and ESC [ K (erase to the end of the
line); other escape sequences move nothing here and are dropped. Prints the screen's lines."""

import re
import sys


def main():
    data = sys.stdin.buffer.read().decode(errors="replace")
    lines = [""]
    col = 0
    for token in re.findall(r"\x1b\[[0-9;?]*[@-~]|\x1b.|\r|\n|[^\x1b\r\n]", data):
        if token == "\r":
            col = 0
        elif token == "\n":
            lines.append("")
            col = 0
        elif token in ("\x1b[K", "\x1b[0K"):
            lines[-1] = lines[-1][:col]
        elif token.startswith("\x1b"):
            continue
        else:
            line = lines[-1]
            lines[-1] = line[:col].ljust(col) + token + line[col + 1:]
            col += 1
    sys.stdout.write("\n".join(lines))
    if lines and lines[-1]:
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
