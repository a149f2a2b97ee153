"""The runs that need no command-line parser: `cnncalc analyze SPEC`, with `--format F` (or `-f F`,
`--format=F`) before or after it, is run here without typer and click (their import and the
command's options cost more than the analysis of a VGG-16). Anything else, a typo included, is
cnncalc/cli.py's: `arguments` answers None and the app parses the command line as always. The
values given to cnncalc/commands/analyze_run.py are those the app gives it (tests/test_fast.py).
"""

from __future__ import annotations

#: --format's values (cnncalc/commands/options.py's Format)
FORMATS = ("table", "json", "csv", "markdown")


def arguments(args: list[str]) -> dict[str, str] | None:
    """`analyze`'s spec and format when `args` are `analyze SPEC` with at most one --format; else None."""
    if not args or args[0] != "analyze":
        return None
    found: dict[str, str] = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("--format", "-f"):
            given = next(rest, None)
        elif arg.startswith("--format="):
            given = arg.partition("=")[2]
        elif arg == "-" or not arg.startswith("-"):
            if "spec" in found:
                return None  # click's "unexpected extra argument"
            found["spec"] = arg
            continue
        else:
            return None  # any other option: the app's
        if given not in FORMATS or "format" in found:
            return None
        found["format"] = given
    return found if "spec" in found else None


def run(args: list[str]) -> bool:
    """Run the command line `args` when it is one of these; False when it is the app's to run."""
    found = arguments(args)
    if found is None:
        return False
    # Collector off for the run: its imports alone (classes, functions, the tables of ~60 modules) trigger
    # ~25 collections that find no garbage (4-8 ms of a VGG-16's start-up), and the stages after them
    # make no reference cycles (cnncalc/collector.py); on again after, for a caller that lives on.
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _run_analyze(found)
    finally:
        if was_enabled:
            gc.enable()
    return True


def _run_analyze(found: dict[str, str]) -> None:
    from cnncalc.commands.analyze_run import analyze
    from cnncalc.commands.boundary import boundary, run_main
    from cnncalc.commands.invocation import Invocation

    def command() -> None:
        invocation = Invocation()
        with boundary(invocation):
            analyze(invocation, found["spec"], format=found.get("format", "table"))

    run_main(command)
