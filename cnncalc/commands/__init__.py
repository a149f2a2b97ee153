"""The commands of the command line, one module each (cnncalc/cli.py registers them, in its COMMANDS order).

A command reads its options, asks cnncalc/pipeline.py for the source, the convention and the report
options, calls the library and renders; it raises cnncalc's errors, and cnncalc/cli.py's boundary
turns them into diagnostics and exit statuses. Shared options: `options`; the run's state
(the texts diagnostics quote, --debug): `invocation`.
"""
