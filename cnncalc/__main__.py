"""`python -m cnncalc` and the `cnncalc` command (pyproject's entry point).

`cnncalc --version` is answered here, before the command line's modules load: importing typer, rich
and the analysis stack costs ~5x the interpreter's own start, for one line of output. The commonest
run, `cnncalc analyze SPEC [--format F]`, is run without typer (cnncalc/commands/fast.py)."""

from __future__ import annotations

import sys


def _only_version(args: list[str]) -> bool:
    return "--version" in args and all(arg in ("--version", "--debug") for arg in args)


def main() -> None:
    if _only_version(sys.argv[1:]):
        from cnncalc import __version__

        try:
            sys.stdout.write(f"cnncalc {__version__}\n")
            sys.stdout.flush()
            return
        except BrokenPipeError:
            pass  # the reader went away: end as cnncalc.cli does, below
    from cnncalc.commands import fast

    if fast.run(sys.argv[1:]):
        return
    from cnncalc.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
