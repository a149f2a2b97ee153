"""`python -m cnncalc` and the `cnncalc` command (pyproject's entry point).

`cnncalc --version` is answered here, before the command line's modules load: importing typer, rich
and the analysis stack costs ~5x the interpreter's own start, for one line of output. The commonest
run, `cnncalc analyze SPEC [--format F]`, is run without typer (cnncalc/commands/fast.py), and the
process ends as soon as its output is flushed (`_end_now`)."""

from __future__ import annotations

import sys


def _only_version(args: list[str]) -> bool:
    return "--version" in args and all(arg in ("--version", "--debug") for arg in args)


def main() -> None:
    """The command line of this process; it ends the process when the run was the fast path's."""
    args = sys.argv[1:]
    from cnncalc.commands import fast

    if not _only_version(args) and fast.arguments(args) is not None:
        _end_now(_status_of(fast.run, args))
    try:
        run(args)
    finally:
        # The interpreter's last garbage collection, as it exits, walks every object the run made (~25 ms
        # after ResNet-50's report on the CI machine: a sixth of the run); frozen, they are left out of it
        # and still freed as the process ends. Only here: cnncalc.cli.main may run in a longer-lived process.
        import gc

        gc.freeze()


def run(args: list[str]) -> None:
    """The command line `args`, run in this process (which goes on afterwards: the tests' way in)."""
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


def _status_of(command, args: list[str]) -> object:
    """The exit status `command(args)` ends with: 0, or its SystemExit's code."""
    try:
        command(args)
    except SystemExit as done:
        return done.code
    return 0


def _end_now(status: object) -> None:
    """End the process with `status` without the interpreter's teardown: freeing every module and object
    of the run one by one is ~6 M instructions (2-3 ms) after ResNet-50's report, for a process that is
    over (mypy ends the same way: mypy/util.py `hard_exit`). The run's output is flushed first; where
    anything could still want the normal end (a status that is not a number, output that does not
    flush, an atexit handler, a profiler or tracer collecting the run), it gets it."""
    import atexit

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(status) from None  # Python's own end reports it, as for any run
    ordinary = status is None or (isinstance(status, int) and not isinstance(status, bool))
    watched = sys.getprofile() is not None or sys.gettrace() is not None or atexit._ncallbacks() > 0
    if not ordinary or watched:
        raise SystemExit(status)
    import os

    os._exit((status or 0) & 0xFF)


if __name__ == "__main__":
    main()
