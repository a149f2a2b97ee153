"""`python -m cnncalc` and the `cnncalc` command (pyproject's entry point).

`cnncalc --version` is answered here, before the command line's modules load: importing typer, rich
and the analysis stack costs ~5x the interpreter's own start, for one line of output. The commonest
run, `cnncalc analyze SPEC [--format F]`, is run without typer (cnncalc/commands/fast.py)."""

from __future__ import annotations

import sys


def _only_version(args: list[str]) -> bool:
    return "--version" in args and all(arg in ("--version", "--debug") for arg in args)


def main() -> None:
    try:
        _run(sys.argv[1:])
    finally:
        # The interpreter's last garbage collection, as it exits, walks every object the run made (~25 ms
        # after ResNet-50's report on the CI machine: a sixth of the run); frozen, they are left out of it
        # and still freed as the process ends. Only here: cnncalc.cli.main may run in a longer-lived process.
        import gc

        gc.freeze()


def _run(args: list[str]) -> None:
    if _only_version(args):
        from cnncalc import __version__

        try:
            sys.stdout.write(f"cnncalc {__version__}\n")
            sys.stdout.flush()
            return
        except BrokenPipeError:
            pass  # the reader went away: end as cnncalc.cli does, below
    from cnncalc.commands import fast

    if fast.run(args):
        return
    from cnncalc.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
