"""Look at a sweep the way a reviewer does: optuna-dashboard's trial page in headless Chromium.

Runs a short seed_toy sweep in a scratch folder (or uses --workdir), starts
`python -m sweeper dashboard` on 127.0.0.1, takes screenshots of the study's trial page with
Debian's Chromium (apt-get install chromium), and stops the server.

    python scripts/screenshot_dashboard.py [--out dashboard.png] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "seed_toy.py"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--hide-scrollbars"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="dashboard.png", help="screenshot path (a .png)")
    p.add_argument("--workdir", help="folder holding runs/seed_toy (default: a fresh sweep)")
    p.add_argument("--n-trials", type=int, default=4)
    args = p.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 2
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sweeper-dashboard-"))
    if not (work / "runs" / "seed_toy" / "study.db").exists():
        subprocess.run([sys.executable, "-m", "sweeper", str(STUDY), "--n-trials",
                        str(args.n_trials)], cwd=work, check=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sweeper", "dashboard", str(STUDY),
                               "--port", str(port)], cwd=work)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=5) as r:
                    studies = json.loads(r.read())["study_summaries"]
                break
            except OSError:
                time.sleep(0.3)
        else:
            raise SystemExit("the dashboard did not start")
        study_id = next(s["study_id"] for s in studies if s["study_name"] == "seed_toy")
        out = Path(args.out).resolve()
        pages = {"": f"{base}/dashboard/studies/{study_id}/trials",
                 "-study": f"{base}/dashboard/studies/{study_id}"}
        for suffix, url in pages.items():
            target = out.with_name(f"{out.stem}{suffix}{out.suffix}")
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                "--window-size=1400,2400", "--virtual-time-budget=15000",
                                f"--screenshot={target}", url],
                               check=True, capture_output=True, timeout=120)
            print(f"{url} -> {target}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
