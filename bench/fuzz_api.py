"""Schemathesis against ``ordergate serve``'s own OpenAPI document; prints JSON figures.

    python bench/fuzz_api.py [--examples 100] [--seed 1]

Starts ``ordergate serve`` on a fresh SQLite file with a token, marks AAPL, runs
``schemathesis run`` (a dev tool: ``pip install schemathesis``; not a test dependency)
over every operation with the examples and fuzzing phases, then reads the HAR record of
every request it sent: requests tried, the share answered 2xx (overall and for
``POST /v1/intents``, the success path), intent outcomes, the 5xx count (must be 0), and
the failures schemathesis reported.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.serving import free_port, wait_until_serving  # noqa: E402

TOKEN = "tok-fuzz-3f1e9a7c5b2d4e6f"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    st = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            ORDERGATE_API_TOKEN=TOKEN,
            # the throttle queues callers (never an error): lift it so a request is not
            # held past schemathesis's 10 s read timeout
            ORDERGATE_EXEC_MAX_ORDERS_PER_MIN="1000000",
            ORDERGATE_EXEC_REQUESTS_PER_SECOND="100000",
            # serve this checkout's code, whatever the working directory
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        )
        command = [sys.executable, "-m", "ordergate.service", "serve", "--db", f"{tmp}/f.db"]
        command.extend(["--port", str(port)])
        serve = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tmp,
        )
        try:
            wait_until_serving(url, serve, timeout=30)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            httpx.post(f"{url}/v1/marks", json={"symbol": "AAPL", "last": "100"}, headers=auth)
            har = Path(tmp) / "run.har"
            fuzz = [st, "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {TOKEN}"]
            fuzz.extend(["-n", str(args.examples), "--seed", str(args.seed), "-w", "1"])
            fuzz.extend(["--phases", "examples,fuzzing", "--report", "har"])
            fuzz.extend(["--report-har-path", str(har)])
            run = subprocess.run(
                fuzz,
                capture_output=True,
                text=True,
                check=False,
            )
            entries = json.loads(har.read_text())["log"]["entries"]
            Path("/tmp/fuzz_api_schemathesis.txt").write_text(run.stdout)
        finally:
            serve.terminate()
            serve.wait(15)
    by_status: collections.Counter[int] = collections.Counter()
    intents: collections.Counter[str] = collections.Counter()
    per_operation: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for entry in entries:
        method = entry["request"]["method"]
        path = urlsplit(entry["request"]["url"]).path
        status = int(entry["response"]["status"])
        by_status[status] += 1
        per_operation[f"{method} {_template(path)}"][str(status)] += 1
        if method == "POST" and path == "/v1/intents" and status == 201:
            body = json.loads(entry["response"]["content"].get("text") or "{}")
            intents[str(body.get("status"))] += 1
    total = sum(by_status.values())
    ok = sum(n for s, n in by_status.items() if 200 <= s < 300)
    intent_ops = per_operation.get("POST /v1/intents", collections.Counter())
    intent_total = sum(intent_ops.values())
    failures = re.findall(r"^\s+-?\s*(ST\d+ [^\n]+?)(?::\s*(\d+))?$", run.stdout, re.M)
    summary = {
        "command": " ".join(["python", "bench/fuzz_api.py", f"--examples {args.examples}"]),
        "requests": total,
        "share_2xx": round(ok / total, 3) if total else 0,
        "intents_tried": intent_total,
        "intents_share_201": round(intent_ops["201"] / intent_total, 3) if intent_total else 0,
        "intent_outcomes": dict(intents),
        "status_counts": {str(k): v for k, v in sorted(by_status.items())},
        "server_errors_5xx": sum(n for s, n in by_status.items() if s >= 500),
        "schemathesis_failures": sorted({f[0].strip() for f in failures if f[0].strip()}),
        "per_operation": {k: dict(v) for k, v in sorted(per_operation.items())},
    }
    print(json.dumps(summary, indent=2))


def _template(path: str) -> str:
    path = re.sub(r"^/v1/orders/[^/]+/cancel$", "/v1/orders/{order_id}/cancel", path)
    if path.startswith("/v1/orders/") and path.count("/") == 3:
        return "/v1/orders/{order_id}"
    return path


if __name__ == "__main__":
    main()
