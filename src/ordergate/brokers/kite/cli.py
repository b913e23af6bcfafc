"""``ordergate kite …``: install today's token, check the session, export instruments.

Registered in ``ordergate/cli.py`` with ``app.add_typer(kite_app, name="kite")``.

``ordergate kite token set TOKEN`` asks Kite whether the token is good, then writes it
to the token file (mode 0600). A running engine reads the file again before its next
call, checks the token with Kite and clears the expired-token kill switch: no restart.
The token is never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ordergate.domain.errors import OrderGateError

if TYPE_CHECKING:  # settings load only when a command runs: ``ordergate --help`` stays fast
    from .settings import KiteSettings

kite_app = typer.Typer(
    help="Zerodha Kite: the daily access token, instruments.", no_args_is_help=True
)
token_app = typer.Typer(help="Kite's access token (it expires every day).", no_args_is_help=True)
kite_app.add_typer(token_app, name="token")

DbOption = Annotated[str | None, typer.Option("--db", help="SQLite file or database URL.")]


def _where(db: str | None) -> tuple[KiteSettings, Path]:
    from ordergate.config import load_settings

    from .plugin import token_file_for
    from .settings import KiteSettings

    block = KiteSettings.load()
    settings = load_settings(database_url=db) if db else load_settings()
    path = token_file_for(block, settings)
    if path is None:
        typer.echo("E_CONFIG_INVALID: no token file: set ORDERGATE_KITE_TOKEN_FILE", err=True)
        raise typer.Exit(2)
    return block, path


def _profile(block: KiteSettings, token: str) -> str:
    from kiteconnect import KiteConnect

    from .errors import map_kite_error

    api_key = block.api_key.get_secret_value() if block.api_key else ""
    client = KiteConnect(api_key, access_token=token, root=block.root, timeout=10)
    try:
        return str(client.profile().get("user_id") or "")
    except Exception as exc:
        error = map_kite_error(
            exc, op="profile", writes=False, scrub=lambda t: str(t).replace(token, "***")
        )
        raise error from None


@token_app.command("set")
def token_set(
    token: Annotated[str, typer.Argument(help="Today's access token from Kite's login flow.")],
    db: DbOption = None,
    verify: Annotated[bool, typer.Option(help="Ask Kite whether the token is good first.")] = True,
) -> None:
    """Install a new access token; a running engine takes it without a restart."""
    block, path = _where(db)
    user_id = ""
    if verify:
        try:
            user_id = _profile(block, token.strip())
        except OrderGateError as exc:
            typer.echo(f"{exc.code.name}: {exc.message}", err=True)
            raise typer.Exit(2) from None
    from .session import write_token_file  # the SDK loads only when a command runs

    write_token_file(path, token)
    typer.echo(json.dumps({"installed": True, "token_file": str(path), "user_id": user_id}))


@token_app.command("status")
def token_status(db: DbOption = None) -> None:
    """Whether the installed token works (Kite's profile); never prints the token."""
    block, path = _where(db)
    token = path.read_text().strip() if path.exists() else ""
    if not token and block.access_token is not None:
        token = block.access_token.get_secret_value()
    if not token:
        typer.echo(json.dumps({"token": "none", "token_file": str(path)}))
        raise typer.Exit(1)
    try:
        user_id = _profile(block, token)
    except OrderGateError as exc:
        typer.echo(json.dumps({"token": "refused", "code": exc.code.name, "message": exc.message}))
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"token": "ok", "user_id": user_id, "token_file": str(path)}))


@kite_app.command("instruments")
def instruments(
    exchange: Annotated[str, typer.Option(help="NSE, BSE, NFO, MCX …")] = "NSE",
    db: DbOption = None,
) -> None:
    """Tick and lot sizes from Kite's instrument list, as a ``risk: limits:
    instruments:`` block (JSON, valid YAML) for the gates."""
    from .adapter import KiteBroker

    block, path = _where(db)
    broker = KiteBroker(block, timeout=30, token_file=path)
    try:
        specs = broker.instrument_specs(exchange)
    except OrderGateError as exc:
        typer.echo(f"{exc.code.name}: {exc.message}", err=True)
        raise typer.Exit(2) from None
    out = {
        symbol: {
            k: str(v)
            for k, v in (
                ("tick_size", s.tick_size),
                ("lot_size", s.lot_size),
                ("min_qty", s.min_qty),
            )
            if v is not None
        }
        for symbol, s in sorted(specs.items())
    }
    typer.echo(json.dumps({"risk": {"limits": {"instruments": out}}}, indent=2))
