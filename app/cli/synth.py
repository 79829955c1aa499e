"""`flask synth gp-list`: write a synthetic GP list (see app.domain.synthetic for the mix)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.clock import london_today
from app.domain.synthetic import write_gp_list
from app.runtime import get_clock

synth_group = AppGroup("synth", help="Synthetic data: never real patients.")


@synth_group.command("gp-list", help="Write a synthetic GP patient list CSV in the import format.")
@click.option("--rows", type=click.IntRange(min=1), required=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--unique-mobiles",
    is_flag=True,
    help="One UK-mobile-shaped number per patient instead of Ofcom's 1,000 drama numbers "
    "(benchmarks only: never send to them)",
)
def gp_list(rows: int, out: str, seed: int, unique_mobiles: bool) -> None:
    with open(out, "w", encoding="utf-8", newline="") as f:
        write_gp_list(
            f, rows, seed=seed, unique_mobiles=unique_mobiles, on=london_today(get_clock())
        )
    click.echo(f"Wrote {rows:,} synthetic patients to {out}")


def init_app(app: Flask) -> None:
    app.cli.add_command(synth_group)
