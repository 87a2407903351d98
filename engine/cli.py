"""The headless command line: ``seqlab SUBCOMMAND ...``. Errors: one line on stderr, exit code 2.

``tui.entry`` sends every known sub-command here; with none, it opens the TUI instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from engine import config
from engine.baselines import baselines
from engine.errors import SeqlabError
from engine.presets import PRESETS, resolve
from engine.series import Series, load_series, period_of
from engine.shapes import fmt_shape, infer

EXIT_USAGE = 2


class CliError(SeqlabError):
    """A problem with what the user asked for; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed: a whole number of at least 1")
    return value


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] = frozenset()
) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_presets(args: argparse.Namespace) -> int:
    rows = [(name, exp.description) for name, exp in PRESETS.items()]
    if args.json:
        print(json.dumps({name: exp.description for name, exp in PRESETS.items()}, indent=2))
    else:
        print(_table(("preset", "description"), rows))
    return 0


def cmd_preset(args: argparse.Namespace) -> int:
    if args.name not in PRESETS:
        raise CliError(f"unknown preset {args.name!r}; presets are: {', '.join(PRESETS)}")
    sys.stdout.write(config.dumps(PRESETS[args.name]))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    batch = args.batch if args.batch is not None else exp.window.batch_size
    report = infer(exp.model, batch=batch, steps=exp.window.window)
    if args.json:
        out = {
            "name": exp.name,
            "input_shape": list(report.input_shape),
            "layers": [
                {
                    "index": r.index,
                    "kind": r.kind,
                    "label": r.label,
                    "output_shape": None if r.output_shape is None else list(r.output_shape),
                    "params": r.params,
                }
                for r in report.layers
            ],
            "total_params": report.total_params,
            "mode": report.mode,
            "problems": [
                {
                    "message": p.message,
                    "layer": p.index,
                    "fix": None if p.fix is None else p.fix.description,
                }
                for p in report.problems
            ],
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"{exp.name}: input {fmt_shape(report.input_shape)} (batch, steps)")
    rows = [
        (
            str(r.index + 1),
            r.label,
            fmt_shape(r.output_shape),
            "?" if r.params is None else f"{r.params:,}",
        )
        for r in report.layers
    ]
    print(_table(("#", "layer", "output shape", "params"), rows, right={0, 3}))
    total = "?" if report.total_params is None else f"{report.total_params:,}"
    print(f"total params: {total}")
    if report.mode:
        print(f"mode: {report.mode}")
    for p in report.problems:
        print(f"problem: {p}")
    return 0


def _series_line(series: Series) -> str:
    """One line that shows what was read: points, split, first and last values (with labels)."""

    def point(i: int) -> str:
        label = f" ({series.labels[i]})" if series.labels else ""
        return f"{float(series.values[i]):g}{label}"

    return (
        f"{series.name}, {len(series)} points ({len(series.train)} train, "
        f"{len(series.valid)} validation), first {point(0)}, last {point(-1)}"
    )


def cmd_baselines(args: argparse.Namespace) -> int:
    exp = resolve(args.experiment)
    series = load_series(exp.series, exp.window.window)
    made, skipped = baselines(series, period_of(exp.series))
    if args.json:
        out = {b.name: {"title": b.title, **b.metrics} for b in made}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{exp.name}: {len(series.valid)} validation points from t={series.split_time}")
    print(f"series: {_series_line(series)}")
    rows = [
        (
            b.name,
            b.title,
            f"{b.metrics['mae']:.4f}",
            f"{b.metrics['mse']:.4f}",
            f"{b.metrics['rmse']:.4f}",
            f"{b.metrics['smape']:.2f}",
        )
        for b in made
    ]
    print(_table(("baseline", "method", "MAE", "MSE", "RMSE", "sMAPE%"), rows, right={2, 3, 4, 5}))
    for note in skipped:
        print(f"skipped: {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seqlab",
        description="Forecast time series with recurrent networks. With no sub-command, or with "
        "an experiment file or preset name, opens the terminal app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("presets", help="list the built-in experiments")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("preset", help="print a preset as TOML (redirect it to a file to edit)")
    p.add_argument("name", help="preset name (see 'seqlab presets')")
    p.set_defaults(func=cmd_preset)

    p = sub.add_parser(
        "summary", help="layer shapes, parameter counts and problems (no TensorFlow)"
    )
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument(
        "--batch", type=_positive_int, help="batch size to show (default: the experiment's)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser(
        "baselines", help="the course's statistical baselines on the validation period"
    )
    p.add_argument("experiment", metavar="FILE_OR_PRESET")
    p.add_argument("--json", action="store_true", help="print one JSON object keyed by baseline")
    p.set_defaults(func=cmd_baselines)

    return parser


def command_names() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one sub-command; returns its exit code (2 for any user error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except SeqlabError as exc:
        print(f"seqlab {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
