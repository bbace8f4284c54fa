"""Command line: generate the demo landing folder.

    python -m orchestration.demo_data [--accounts N] [--months M] [--seed S]
                                      [--event-intensity X] [--as-of YYYY-MM-DD]
                                      [--out DIR] [--if-missing]

Defaults come from ``orchestration.settings.load_settings()`` (landing folder,
number of accounts, seed). The as-of date is ``--as-of``, else ``CS_AS_OF_DATE``,
else today (UTC): fresh demo data always describes the days just before now.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

from orchestration.settings import GENERATION_MANIFEST, load_settings

from .generator import GeneratorConfig, generate


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from exc


def _parser(defaults) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.demo_data",
        description="Write demo connector files (HubSpot, Stripe, Segment, Zendesk, "
                    "Delighted, finance) into the landing folder: CSV, and Parquet per "
                    "received day for Segment tracks.",
    )
    parser.add_argument("--accounts", type=int, default=defaults.demo_accounts,
                        help="number of CRM companies (default: %(default)s)")
    parser.add_argument("--months", type=int, default=24,
                        help="months of history before the as-of date (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.demo_seed,
                        help="random seed; same seed and options, same files "
                             "(default: %(default)s)")
    parser.add_argument("--event-intensity", type=float, default=1.0, metavar="X",
                        help="scales product events per active user-day without changing "
                             "the accounts' stories; 1.0 gives about 1,800-2,100 events per "
                             "account over 24 months, 0.47 about 1,000 (100,000 accounts: "
                             "about 100 million events) (default: %(default)s)")
    parser.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="last day + 1 of the data (default: CS_AS_OF_DATE, else today UTC)")
    parser.add_argument("--out", type=Path, default=defaults.landing_dir,
                        help="landing folder (default: %(default)s)")
    parser.add_argument("--if-missing", action="store_true",
                        help=f"do nothing when {GENERATION_MANIFEST} already exists there")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def resolve_as_of(explicit: dt.date | None, environ: dict[str, str] | None = None) -> dt.date:
    """``--as-of``, else ``CS_AS_OF_DATE``, else today's UTC date."""
    if explicit is not None:
        return explicit
    env = os.environ if environ is None else environ
    raw = env.get("CS_AS_OF_DATE", "").strip()
    if raw:
        return dt.date.fromisoformat(raw)
    return dt.datetime.now(dt.UTC).date()


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    args = _parser(settings).parse_args(argv)
    out: Path = args.out
    if args.if_missing and (out / GENERATION_MANIFEST).exists():
        print(f"Demo data already in {out} ({GENERATION_MANIFEST} exists); nothing generated.")
        return 0
    try:
        config = GeneratorConfig(
            seed=args.seed, accounts=args.accounts, months=args.months,
            as_of_date=resolve_as_of(args.as_of), event_intensity=args.event_intensity,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    manifest = generate(config, out, progress=not args.quiet)
    elapsed = time.perf_counter() - started

    counts = manifest["row_counts"]
    width = max(len(name) for name in counts)
    print(f"Demo data for {config.accounts} accounts, {config.months} months, as of "
          f"{config.as_of_date}, seed {config.seed}, in {out}:")
    for name, rows in counts.items():
        print(f"  {name:<{width}}  {rows:>10,}")
    injected = sum(n for tables in manifest["defects"].values() for n in tables.values())
    print(f"  {'total':<{width}}  {sum(counts.values()):>10,}")
    print(f"{injected:,} defects injected (see {GENERATION_MANIFEST}); took {elapsed:.1f}s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
