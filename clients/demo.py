"""Demo launcher: the gateway and both sample portals on 127.0.0.1, run as ``make demo``.

Prepares the gateway's instance folder with its own CLI (``init-db``, ``seed-demo``), then starts
three real HTTP servers (waitress) and the gateway's back-channel logout worker
(``flask deliver-logouts --loop``) as child processes, waits until each server answers, and
prints the addresses and the demo citizens' accounts. Ctrl-C or SIGTERM stops them all; if one
of them dies, the others are stopped too and the launcher exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Seconds each server gets to answer its first request, and to stop when asked.
START_TIMEOUT = 60
STOP_TIMEOUT = 10


class DemoError(Exception):
    """The demo cannot start; the message says why."""


@dataclass
class Server:
    name: str
    url: str
    port: int
    call: str
    #: Path requested to decide that the server answers (any HTTP status will do); None for a
    #: process that serves nothing (the logout worker).
    probe_path: str | None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    #: The command, when it is not a waitress server of ``call``.
    argv: list[str] | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m clients.demo",
        description="Start the Vĩnh Long eID gateway and two sample portals for a demonstration.",
    )
    parser.add_argument("--instance", type=Path, default=REPO_ROOT / "instance",
                        help="gateway instance folder (database, keys, demo-clients.json)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--gateway-port", type=int, default=5000)
    parser.add_argument("--province-port", type=int, default=5001)
    parser.add_argument("--commune-port", type=int, default=5002)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    instance = args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    host = args.host
    gateway_url = f"http://{host}:{args.gateway_port}"
    province_url = f"http://{host}:{args.province_port}"
    commune_url = f"http://{host}:{args.commune_port}"
    clients_file = instance / "demo-clients.json"

    gateway_env = {
        "GATEWAY_ENV": "development",
        "GATEWAY_INSTANCE_PATH": str(instance),
        "GATEWAY_ISSUER": gateway_url,
    }
    stopping = threading.Event()
    install_signal_handlers(stopping)
    servers: list[Server] = []
    try:
        for port in (args.gateway_port, args.province_port, args.commune_port):
            check_port_free(host, port)
        run_flask(gateway_env, "init-db")
        run_flask(gateway_env, "seed-demo", "--province-url", province_url,
                  "--commune-url", commune_url, "--write-clients", str(clients_file))
        demo = read_demo_clients(clients_file)

        servers = [
            Server("gateway", gateway_url, args.gateway_port, "gateway:create_app",
                   "/.well-known/openid-configuration", gateway_env),
            Server("province", province_url, args.province_port, "clients.province:create_app",
                   "/", portal_env(demo["province"], gateway_url, province_url)),
            Server("commune", commune_url, args.commune_port, "clients.commune:create_app",
                   "/", portal_env(demo["commune"], gateway_url, commune_url)),
            # Retries the back-channel logouts the gateway could not deliver at sign-out.
            Server("logout-worker", "", 0, "", None, {**gateway_env,
                   "GATEWAY_LOGOUT_WORKER_INTERVAL": "1"},
                   argv=flask_argv("deliver-logouts", "--loop")),
        ]
        for server in servers:
            start(server, host)
        for server in servers:
            wait_until_answering(server, servers, stopping)
        if stopping.is_set():
            return 0
        print_banner(servers, demo.get("citizens", []))
        return supervise(servers, stopping)
    except DemoError as exc:
        if stopping.is_set():
            return 0  # Ctrl-C during start-up also stops the children: not a failure
        print(f"\nDemo không khởi động được / demo could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all(servers)


def install_signal_handlers(stopping: threading.Event) -> None:
    def handle(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def check_port_free(host: str, port: int) -> None:
    """Refuse a busy port up front: otherwise an old server there would pass for ours."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise DemoError(f"{host}:{port} is already in use ({exc.strerror})") from exc


def child_env(extra: dict[str, str]) -> dict[str, str]:
    # PORTAL_* left in the caller's shell (PORTAL_CONFIG, PORTAL_SCOPE…) would quietly change
    # the portals; the demo sets the ones it means. Children run with cwd=REPO_ROOT and ``-m``,
    # so they import this checkout's packages.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    return {**inherited, **extra}


def flask_argv(*command: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "gateway", *command]


def run_flask(env: dict[str, str], *command: str) -> None:
    argv = flask_argv(*command)
    result = subprocess.run(argv, cwd=REPO_ROOT, env=child_env(env), check=False)  # noqa: S603
    if result.returncode != 0:
        raise DemoError(f"`flask --app gateway {command[0]}` exited with {result.returncode}")


def read_demo_clients(path: Path) -> dict:
    try:
        demo = json.loads(path.read_text(encoding="utf-8"))
        for portal in ("province", "commune"):
            if not demo[portal]["client_id"]:
                raise KeyError(f"{portal}.client_id")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"seed-demo did not write a usable {path}: {exc!r}") from exc
    return demo


def portal_env(client: dict, issuer: str, base_url: str) -> dict[str, str]:
    """PORTAL_* settings for one portal. The secret key is left to the portal (random per run)."""
    return {
        "PORTAL_ISSUER": issuer,
        "PORTAL_CLIENT_ID": client["client_id"],
        "PORTAL_CLIENT_SECRET": client.get("client_secret") or "",
        "PORTAL_BASE_URL": client.get("base_url") or base_url,
    }


def start(server: Server, host: str) -> None:
    argv = server.argv or [sys.executable, "-m", "waitress", f"--listen={host}:{server.port}",
                           "--call", server.call]
    # Same process group as the launcher: a terminal's Ctrl-C, or a kill of the group, reaches
    # every server even if the launcher itself is killed outright.
    server.process = subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env(server.env))  # noqa: S603


def wait_until_answering(server: Server, servers: list[Server], stopping: threading.Event) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not stopping.is_set():
        check_alive(servers)
        if server.probe_path is None or answers(server.url + server.probe_path):
            return
        if time.monotonic() > deadline:
            raise DemoError(f"{server.name} did not answer at {server.url} in {START_TIMEOUT} s")
        stopping.wait(0.2)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (http://host:port we built)
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP error status still means the server is up
    except OSError:
        return False


def check_alive(servers: list[Server]) -> None:
    for server in servers:
        if server.process is not None and server.process.poll() is not None:
            raise DemoError(f"{server.name} stopped (exit status {server.process.returncode})")


def supervise(servers: list[Server], stopping: threading.Event) -> int:
    while not stopping.wait(0.5):
        try:
            check_alive(servers)
        except DemoError as exc:
            print(f"\n{exc}; stopping the others / dừng các máy chủ còn lại.", file=sys.stderr)
            return 1
    print("\nĐang dừng / stopping…", file=sys.stderr)
    return 0


def stop_all(servers: list[Server]) -> None:
    running = [s.process for s in servers if s.process is not None and s.process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def print_banner(servers: list[Server], citizens: list[dict]) -> None:
    titles = {
        "gateway": "Hệ thống định danh và xác thực điện tử / eID gateway",
        "province": "Cổng Dịch vụ công tỉnh Vĩnh Long / province portal",
        "commune": "UBND Phường Phước Hậu / commune portal",
    }
    lines = ["", "Demo đang chạy / the demo is running:", ""]
    lines += render_table(["Máy chủ / server", "URL"],
                          [[titles[s.name], s.url] for s in servers if s.name in titles])
    lines += ["", "Tài khoản công dân mẫu / demo citizen accounts:", ""]
    lines += render_table(
        ["Số định danh cá nhân / ID number", "Mật khẩu / password", "Họ và tên / name"],
        [[c.get("personal_id", ""), c.get("password", ""), c.get("name", "")] for c in citizens],
    )
    lines += ["", "Nhấn Ctrl-C để dừng / press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)


def render_table(header: list[str], rows: list[list[str]]) -> list[str]:
    rows = [[unicodedata.normalize("NFC", str(cell)) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return ("  " + " │ ".join(padded)).rstrip()

    rule = "  " + "─┼─".join("─" * width for width in widths)
    return [line(header), rule, *(line(row) for row in rows)]


if __name__ == "__main__":
    sys.exit(main())
