"""The product as it runs in production, each part a process of its own — redis-server (AOF,
fsync on every write), the fake WeChat API, the sandbox bureau over its REST contract
(`wxbot sandbox serve`, behind a proxy that can make it slow), the webhook (`wxbot serve`:
gunicorn, several workers) and a notification worker (`wxbot worker`) — for tests that stop,
freeze, slow down or kill one part and watch the others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import redis
import requests

from bot.binding.models import Decision
from bot.binding.sandbox.roster import person_id_for
from bot.config import Settings
from bot.notify.records import NotificationRecords
from bot.notify.worker import WORKER_TTL
from bot.simulator.wechat_side import WeChatSide
from bot.store.client import connect
from bot.store.keys import Keys
from bot.store.server import RedisServer
from flows.domain.identity import checksum_ok
from tests.conftest import APPID, SECRET, free_port, wait_for
from tests.support.binding import Somebody
from tests.support.chat import CODE, User
from tests.support.cluster import LocalCluster
from tests.support.processes import Commands, Gunicorn, child_pids, healthy, settings_env

# -- the people ---------------------------------------------------------------------------------

_GIVEN = "安宝春德芳刚海慧佳建杰静君丽玲梅敏明宁平琴荣瑞涛婷伟文霞秀燕毅勇玉珍志"


def _id_number(born: date, serial: int) -> str:
    body = f"330106{born:%Y%m%d}{serial % 1000:03d}"
    return next(body + check for check in "0123456789X" if checksum_ok(body + check))


@dataclass(frozen=True)
class Family:
    """An employee with a shareable balance and a grandchild (a minor, so no consent is needed;
    the sandbox's automatic review approves the application at once)."""
    initiator: Somebody
    child: Somebody


def families(count: int) -> list[Family]:
    result = []
    for i in range(count):
        given = _GIVEN[i % len(_GIVEN)] + _GIVEN[i // len(_GIVEN) % len(_GIVEN)]
        grown = _id_number(date(1958, 1, 1) + timedelta(days=37 * i), 100 + i)
        child = _id_number(date(2016, 1, 1) + timedelta(days=11 * i), 500 + i)
        result.append(Family(Somebody("赵" + given, grown, person_id_for(grown)),
                             Somebody("钱" + given, child, person_id_for(child))))
    return result


def roster_toml(people: list[Family]) -> str:
    entries = []
    for n, family in enumerate(people):
        entries.append(f'[[person]]\nname = "{family.initiator.name}"\nid_number = "{family.initiator.id_number}"\n'
                       f'insurance = "employee"\nbalance = 5000.00\ncarried_over = 2000.00\n'
                       f'region = "330100"\nphone = "139{n:08d}"\n')
        entries.append(f'[[person]]\nname = "{family.child.name}"\nid_number = "{family.child.id_number}"\n'
                       f'insurance = "resident"\nregion = "330100"\nphone = "137{n:08d}"\n')
    return "\n".join(entries)


def verify_rows(family: Family) -> list[tuple[str, str]]:
    """From the start of 绑定家人 to the relationship question."""
    return [("绑定家人", "先验证一下您的身份"), (family.initiator.name, "身份证号码"),
            (family.initiator.id_number, "验证码已发送"), (CODE, "请问要绑定的家人是您的")]


def bind_rows(family: Family) -> list[tuple[str, str]]:
    """From the relationship question to the photo of the 户口本."""
    return [("孙女", "姓名"), (family.child.name, "证件号码"), (family.child.id_number, "户口本")]


# -- the processes ------------------------------------------------------------------------------

class Stack:
    def __init__(self, directory: Path, make_settings: Callable[..., Settings], people: list[Family],
                 cluster: LocalCluster | None = None) -> None:
        self.directory = directory
        self.people = people
        # The sandbox bureau's Redis; the bot's too, unless it runs on a Redis Cluster (`cluster`).
        self.redis = RedisServer(directory / "redis", appendonly=True, appendfsync="always")
        self.cluster = cluster
        self.commands = Commands()
        self.fake: Gunicorn | None = None
        self.bureau: Gunicorn | None = None     # the proxy in front of the sandbox (slow_bureau)
        self._make_settings = make_settings
        self.settings: Settings | None = None
        self.sandbox: subprocess.Popen | None = None
        self.webhook: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> Stack:
        roster = self.directory / "roster.toml"
        roster.write_text(roster_toml(self.people), encoding="utf-8")
        self.redis.start()
        self.fake = Gunicorn(f"bot.simulator.fake_wechat:create_fake_wechat({APPID!r}, {SECRET!r})", {}, workers=1,
                             threads=16, health="/fake/stats").start()
        webhook_port, sandbox_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{webhook_port}"
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.bureau = Gunicorn(f"tests.support.slow_bureau:create_proxy({self.sandbox_url!r})", {}, workers=1,
                               threads=32, health="/proxy/delay").start()
        self.settings = self._make_settings(
            aes=True,
            redis={"mode": "cluster", "url": self.cluster.url} if self.cluster else {"url": self.redis.url},
            wechat={"api_base_url": self.fake.url},
            server={"bind": f"127.0.0.1:{webhook_port}", "workers": 2, "threads": 16},
            binding={"adapter": "http", "http": {"base_url": self.bureau.url},
                     "sandbox": {"verification_code": CODE, "review": "auto", "roster": str(roster),
                                 "bind": f"127.0.0.1:{sandbox_port}",
                                 "callback_url": f"{self.url}/binding/callback"}},
            notifications={"max_attempts": 6, "retry_intervals": [1, 1, 2, 2, 2], "reclaim_after": 5},
            log={"format": "json", "level": "INFO"})
        self.env = settings_env(self.settings)
        # The bureau keeps its own records: on the plain Redis whatever the bot runs on.
        self.sandbox_env = {**self.env, "WXBOT_REDIS__MODE": "single", "WXBOT_REDIS__URL": self.redis.url}
        self.keys = Keys.of(self.settings)
        self.client = connect(self.settings.redis) if self.cluster else redis.Redis.from_url(self.redis.url)
        self.sandbox_client = redis.Redis.from_url(self.redis.url)
        self.start_sandbox()
        self.webhook = self.commands.start("serve", env=self.env, output=self.log_path("webhook"))
        wait_for(lambda: healthy(self.url), timeout=30)
        self.start_worker()
        return self

    def stop(self) -> None:
        try:
            for process in (self.sandbox, self.webhook, self.worker):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGCONT)  # a test may have left one frozen
            self.commands.stop()
        finally:
            for server in (self.fake, self.bureau):
                if server is not None:
                    server.stop()
            self.redis.cleanup()

    def log_path(self, name: str) -> Path:
        return self.directory / f"{name}.log"

    def events(self, name: str, event: str) -> list[dict]:
        """The JSON log lines of one process (webhook, worker, sandbox) for one event."""
        found = []
        for line in self.log_path(name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                entry = json.loads(line)
                if entry.get("event") == event:
                    found.append(entry)
        return found

    # -- Redis ----------------------------------------------------------------------------------
    def kill_redis(self) -> None:
        """SIGKILL: no shutdown, no final flush — what a crash or an OOM kill does."""
        os.kill(self.redis_pid(), signal.SIGKILL)
        wait_for(lambda: not self.redis.running, timeout=10)

    def redis_pid(self) -> int:
        return self.sandbox_client.info("server")["process_id"]

    # -- the sandbox bureau ---------------------------------------------------------------------
    def start_sandbox(self) -> None:
        self.sandbox = self.commands.start("sandbox", "serve", env=self.sandbox_env, output=self.log_path("sandbox"))
        wait_for(self._sandbox_answers, timeout=30)

    def _sandbox_answers(self) -> bool:
        try:
            return requests.get(f"{self.sandbox_url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill_sandbox(self) -> None:
        os.killpg(self.sandbox.pid, signal.SIGKILL)
        self.sandbox.wait(10)

    def slow_bureau(self, seconds: float) -> None:
        """Every call to the bureau from now on takes `seconds` longer (0: as fast as it is)."""
        requests.post(f"{self.bureau.url}/proxy/delay", json={"seconds": seconds}, timeout=5).raise_for_status()

    def signal_sandbox(self, signum: int) -> None:
        """SIGSTOP: the bureau hangs (connections are accepted, nothing answers); SIGCONT: it
        resumes and works through what queued up meanwhile."""
        os.killpg(self.sandbox.pid, signum)

    def applications(self, family: Family) -> list[str]:
        """What the bureau holds for this initiator: the ids of their applications."""
        raw = self.sandbox_client.lrange(
            f"{self.settings.redis.key_prefix}:sandbox:applications:{family.initiator.person_id}", 0, -1)
        return [item.decode() for item in raw]

    # -- the notification worker ----------------------------------------------------------------
    def start_worker(self) -> None:
        before = len(self.workers_registered())
        self.worker = self.commands.start("worker", env=self.env, output=self.log_path("worker"))
        wait_for(lambda: len(self.workers_registered()) > before, timeout=30)

    def workers_registered(self) -> list[int]:
        """The pids of the live workers that keep their heartbeat (`<host>:<pid>` in Redis)."""
        beating = self.client.zrangebyscore(self.keys.notification_workers(), time.time() - WORKER_TTL, "+inf")
        pids = [int(name.decode().rpartition(":")[2]) for name in beating]
        return [pid for pid in pids if _alive(pid)]

    def kill_worker(self) -> None:
        """SIGKILL the worker: no shutdown, its sends cut off wherever they are."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(10)

    # -- what WeChat saw ------------------------------------------------------------------------
    def user(self, openid: str) -> User:
        """A user whose messages tell the fake API about them, so that late answers may be sent."""
        return User(self, WeChatSide(self.settings.wechat, fake_api=self.fake.url), openid)

    def sent(self, openid: str, kind: str) -> list[dict]:
        every = requests.get(f"{self.fake.url}/fake/sent", timeout=5).json()
        return [m for m in every if m["touser"] == openid and m["kind"] == kind]

    def fake_calls(self, path: str) -> int:
        return requests.get(f"{self.fake.url}/fake/stats", timeout=5).json()["calls"].get(path, 0)

    def fail_wechat(self, faults: list[dict]) -> None:
        requests.post(f"{self.fake.url}/fake/fail", json=faults, timeout=5).raise_for_status()

    # -- the bot's records ----------------------------------------------------------------------
    def decisions(self, openid: str | None = None) -> list[tuple[str, Decision, str]]:
        """Recorded decisions: (stream entry id, decision, the openid it notifies or '')."""
        found = []
        for entry_id, fields in self.client.xrange(self.keys.decisions()):
            owner = fields[b"openid"].decode()
            if openid is None or owner == openid:
                found.append((entry_id.decode(), Decision.model_validate_json(fields[b"decision"]), owner))
        return found

    def pending(self, entry_id: str) -> bool:
        """Whether a worker took the decision's entry and has not acknowledged it."""
        return bool(self.client.xpending_range(self.keys.decisions(), "notify", min=entry_id, max=entry_id, count=1))

    def notification(self, entry_id: str) -> dict | None:
        """The notification record of one recorded decision."""
        return NotificationRecords(self.client, self.keys).get(entry_id.replace("-", ""))

    def webhook_workers(self) -> list[int]:
        return sorted(child_pids(self.webhook.pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def timed(call: Callable[[], object]) -> tuple[object, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started
