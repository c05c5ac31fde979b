"""What a deployment runs besides the service: `wxbot secrets` (its random secrets, one file each,
the way deploy/compose.yaml and the systemd units hand them to the processes; bot/secret_files.py
reads them) and `wxbot probe` (the health check the image and the compose file run)."""

from __future__ import annotations

import base64
import secrets
import socket
import sys
from pathlib import Path

import click

from bot.cli.settings import config_option, settings_or_exit
from bot.config import Settings

# Random by nature; the AppSecret is WeChat's, pasted in by hand.
_RANDOM = {
    "wechat_token": lambda: secrets.token_hex(16),   # 32 letters and digits, WeChat's longest
    "wechat_aes_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode()[:43],
    "conversation_key": lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),   # a Fernet key
    "binding_secret": lambda: secrets.token_urlsafe(48),
}


@click.command("secrets")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--redis-host", default="redis:6379", show_default=True,
              help="Host and port in the Redis URL (compose's service name by default).")
def make_secrets(directory: Path, redis_host: str) -> None:
    """Write a deployment's random secrets into DIRECTORY, keeping those that exist already:
    the WeChat token and EncodingAESKey (paste both into WeChat's server configuration), the
    conversation key, the binding secret (give it to the bureau), and Redis's password as
    redis_url (for wxbot) and redis_acl (for redis-server --aclfile)."""
    directory.mkdir(parents=True, exist_ok=True)
    # The directory keeps the secrets from the host's other users; the files stay readable for
    # the containers' own users (compose mounts them with the host's modes).
    directory.chmod(0o700)
    for name, make in _RANDOM.items():
        _write(directory / name, make())
    url, acl = directory / "redis_url", directory / "redis_acl"
    if url.exists() != acl.exists():
        click.echo(f"{url.name} and {acl.name} must be made together (one password): remove the other", err=True)
        sys.exit(1)
    password = secrets.token_urlsafe(32)
    _write(url, f"redis://default:{password}@{redis_host}/0")
    _write(acl, f"user default on >{password} ~* &* +@all")
    if not (directory / "wechat_secret").exists():
        click.echo(f"now put the AppSecret (开发者密码) from WeChat's console into {directory / 'wechat_secret'}")


def _write(path: Path, value: str) -> None:
    if path.exists():
        click.echo(f"kept  {path}")
        return
    path.write_text(value + "\n", encoding="utf-8")
    path.chmod(0o644)
    click.echo(f"wrote {path}")


@click.command()
@config_option
@click.argument("what", type=click.Choice(["webhook", "worker"]), default="webhook")
def probe(config_path: str | None, what: str) -> None:
    """Exit 0 when healthy, else say why and exit 1: the webhook on server.bind is ready (its
    /readyz: Redis and the binding service answer), or a notification worker on this host keeps
    its heartbeat in Redis."""
    settings = settings_or_exit(config_path)
    problem = _webhook_problem(settings) if what == "webhook" else _worker_problem(settings)
    if problem:
        click.echo(f"{what}: {problem}", err=True)
        sys.exit(1)
    click.echo(f"{what}: ok")


def _webhook_problem(settings: Settings) -> str | None:
    import requests

    host, _, port = settings.server.bind.rpartition(":")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "[::]": "[::1]"}.get(host, host)  # noqa: S104 - read, not bound
    try:
        response = requests.get(f"http://{host}:{port}/readyz", timeout=4)
    except requests.RequestException as exc:
        return f"no answer at {host}:{port} ({type(exc).__name__})"
    if response.status_code != 200:
        return f"not ready: {response.text.strip()}"
    return None


def _worker_problem(settings: Settings) -> str | None:
    import time

    import redis

    from bot.notify.worker import WORKER_TTL
    from bot.store.client import connect
    from bot.store.keys import Keys

    host = socket.gethostname()
    try:
        # The workers' heartbeats: `<host>:<pid>` scored by the time of the last beat.
        beating = connect(settings.redis).zrangebyscore(Keys.of(settings).notification_workers(),
                                                        time.time() - WORKER_TTL, "+inf")
    except redis.RedisError as exc:
        return f"Redis does not answer ({type(exc).__name__})"
    here = [name for name in beating if name.decode().rpartition(":")[0] == host]
    return None if here else f"no worker on {host} with a heartbeat in the last {WORKER_TTL} s"
