"""Time and size of `cnncalc report` (HTML) and `cnncalc graph`, as ratios against `cnncalc analyze` in the same run.

    python benchmarks/bench_report.py            # ResNet-152, ResNet-50, VGG-16, DenseNet-121
    python benchmarks/bench_report.py --quick    # fewer repetitions

For each spec: the page's size; in process (best of N): the analysis and report that `analyze` computes,
then what `report` adds (the layout of every collapse level, the SVG, the table, the liveness timeline,
the page) and `graph`'s SVG; as fresh processes (best of N, bytecode compiled first): `cnncalc analyze`
against `cnncalc report -o` and `cnncalc graph -o`. Targets (issue #17): ResNet-152's page under about
1.5 MB and made in under 1 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc import report as report_mod  # noqa: E402
from cnncalc.pipeline import analyze_file  # noqa: E402

SPECS = ("resnet152", "resnet50", "vgg16", "densenet121")


def best(function, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def fresh(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnncalc", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("specs", nargs="*", default=SPECS)
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    import compileall

    compileall.compile_dir(ROOT / "cnncalc", quiet=1)
    from cnncalc.render import html
    from cnncalc.render.diagram import Diagram, svg

    print("in process, best of", runs)
    print(f"{'spec':<14}{'layers':>7}{'page':>10}{'analyze s':>11}{'+report s':>11}{'ratio':>7}"
          f"{'graph svg s':>13}{'svg':>10}")
    for name in args.specs:
        path = str(ROOT / "specs" / f"{name}.yaml")

        def analysed():
            analysis = analyze_file(path)
            return analysis, report_mod.build(analysis, report_mod.Options())

        base, (analysis, built) = best(analysed, runs)
        extra, page = best(lambda: html.render(analysis, built), runs)
        drawn, picture = best(lambda: svg(Diagram(built)), runs)
        size = len(page.encode("utf-8"))
        print(f"{name:<14}{len(built.rows):>7}{size / 2**20:>9.2f}M{base:>11.3f}{extra:>11.3f}"
              f"{(base + extra) / base:>6.1f}x{drawn:>13.3f}{len(picture.encode()) / 2**10:>9.0f}K")
    print()
    print("fresh processes, best of", runs)
    print(f"{'spec':<14}{'analyze s':>11}{'report -o s':>13}{'ratio':>7}{'graph -o s':>12}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.specs:
            spec = f"specs/{name}.yaml"
            analyze = fresh(["analyze", spec], runs)
            report = fresh(["report", spec, "-o", f"{scratch}/r.html"], runs)
            graph = fresh(["graph", spec, "-o", f"{scratch}/g.svg"], runs)
            print(f"{name:<14}{analyze:>11.3f}{report:>13.3f}{report / analyze:>6.1f}x{graph:>12.3f}"
                  f"{graph / analyze:>6.1f}x")


if __name__ == "__main__":
    main()
