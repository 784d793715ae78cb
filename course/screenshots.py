"""The course's pictures of the MLflow UI, taken in headless Chromium on a store the notebooks made.

    uv run python course/screenshots.py                    # executes the Module 2 and 3 notebooks, then shoots
    uv run python course/screenshots.py --workdir /tmp/x   # reuse a folder the notebooks already ran in

Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`); nothing is
downloaded. `mlflow ui` is started once, on 127.0.0.1 and a free port, with one worker. The PNGs land in
course/img/, reduced to a small palette so the repository stays light.

The helpers (:class:`MlflowUI`, :func:`chromium`, :func:`dump_dom`) are also what the course's UI test uses.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMG = HERE / "img"
WINDOW = (1400, 900)
#: Without the networking flags Chromium stalls on a closed network (component updates, sync, field trials).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
)  # fmt: skip


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowUI:
    """``mlflow ui`` on ``store`` (a tracking URI), 127.0.0.1, a free port, one worker; stopped on exit."""

    def __init__(self, store: str, *, timeout: float = 180.0) -> None:
        self.store, self.timeout = store, timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="mlflow-ui-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> MlflowUI:
        from llmops.settings import OFFLINE_GUARDS

        mlflow = Path(sys.executable).parent / "mlflow"
        command = [str(mlflow), "ui", "--backend-store-uri", self.store, "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", "1"]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **OFFLINE_GUARDS},
            start_new_session=True,  # its own process group: stopping it stops its workers too
        )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow ui exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"mlflow ui did not answer within {self.timeout:.0f} s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        Path(self.log.name).unlink(missing_ok=True)


def dump_dom(url: str, *, budget_ms: int = 20000, timeout: float = 120.0) -> str:
    """The page's DOM once the single-page app has rendered (virtual time lets its requests finish)."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    return result.stdout


class Browser:
    """Headless Chromium driven by Selenium through Debian's chromedriver (no browser or driver download)."""

    def __init__(self) -> None:
        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch anything
        from selenium import webdriver

        options = webdriver.ChromeOptions()
        options.binary_location = chromium()
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        self.driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))

    def open(self, url: str, *, wait_for: str | None = None, settle: float = 3.0, scroll_to: str | None = None) -> None:
        """Load ``url``; wait until ``wait_for`` (text) is on the page; close MLflow's first-visit pop-ups;
        bring the element holding ``scroll_to`` (text) to the top."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.get(url)
        if wait_for:
            WebDriverWait(self.driver, 60).until(
                expected_conditions.presence_of_element_located((By.XPATH, f"//*[contains(text(), '{wait_for}')]"))
            )
        time.sleep(settle)
        for xpath in ("//button[@aria-label='Close']", "//button[normalize-space()='Got it']",
                      "//button[@aria-label='Close guidance']"):  # fmt: skip
            for button in self.driver.find_elements(By.XPATH, xpath):
                try:
                    button.click()
                except Exception:  # noqa: BLE001 - a pop-up already gone is what we wanted
                    pass
        if scroll_to:
            element = self.driver.find_element(By.XPATH, f"(//*[normalize-space(text())='{scroll_to}'])[1]")
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
        time.sleep(0.5)

    def click_text(self, text: str, settle: float = 3.0) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.XPATH, f"(//*[contains(text(), '{text}')])[1]").click()
        time.sleep(settle)

    def save(self, name: str) -> Path:
        """A screenshot as course/img/<name>, quantised to 64 colours (small, still sharp for a UI)."""
        from PIL import Image

        IMG.mkdir(exist_ok=True)
        raw = Path(self.profile) / "shot.png"
        self.driver.save_screenshot(str(raw))
        path = IMG / name
        Image.open(raw).convert("RGB").quantize(colors=64).save(path, optimize=True)
        return path

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def shoot(workdir: Path) -> list[Path]:
    """Every picture the guides show, from the store in ``workdir`` (Module 2 and Module 3 notebooks ran there)."""
    from mlflow import MlflowClient

    store = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(store)
    churn = client.get_experiment_by_name("churn").experiment_id
    runs = client.search_runs([churn], order_by=["attributes.start_time ASC"])
    training = next(r for r in runs if r.info.run_name == "Training_Run")
    evaluation = next(r for r in runs if r.info.run_name == "Evaluate_Run")
    analyzer = client.get_experiment_by_name("comment-analyzer").experiment_id
    evals = client.get_experiment_by_name("comment-analyzer-eval").experiment_id
    eval_run = client.search_runs([evals], max_results=1)[0]

    saved = []
    with MlflowUI(store) as ui:
        browser = Browser()
        try:
            base = f"{ui.url}/#"
            browser.open(f"{base}/experiments/{churn}/runs", wait_for="Training_Run")
            saved.append(browser.save("m1-runs.png"))
            browser.open(f"{base}/experiments/{churn}/runs/{training.info.run_id}", wait_for="split_seed", scroll_to="Parameters (9)")
            saved.append(browser.save("m1-params.png"))
            browser.open(f"{base}/experiments/{churn}/runs/{evaluation.info.run_id}/artifacts/confusion_matrix.png",
                         wait_for="roc_curve.png", settle=5)  # fmt: skip
            saved.append(browser.save("m1-artifacts.png"))
            browser.open(f"{base}/models/churn-classifier", wait_for="Version 2", scroll_to="Versions")
            saved.append(browser.save("m2-registry.png"))
            browser.open(f"{base}/experiments/{analyzer}/traces", wait_for="CMT-0001")
            saved.append(browser.save("m3-traces.png"))
            browser.click_text("CMT-0001", settle=5)
            saved.append(browser.save("m3-trace-tree.png"))
            browser.open(f"{base}/prompts/comment-analyzer", settle=8)
            saved.append(browser.save("m3-prompt-versions.png"))
            browser.open(f"{base}/experiments/{evals}/runs/{eval_run.info.run_id}", wait_for="sentiment_match/mean")
            saved.append(browser.save("m3-evaluation.png"))
        finally:
            browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="a folder where module2_mlops and module3_llmops already ran")
    args = parser.parse_args(argv)
    if chromium() is None:
        print("Chromium is not installed: apt-get install -y chromium chromium-driver", file=sys.stderr)
        return 1
    workdir = args.workdir
    if workdir is None:
        sys.path.insert(0, str(HERE / "notebooks"))
        from run import execute

        workdir = Path(tempfile.mkdtemp(prefix="course-screenshots-"))
        for name in ("module2_mlops", "module3_llmops"):
            execute(name, workdir)
    for path in shoot(workdir):
        print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
