"""What `finemill train` shows while it runs (rank 0 only; the other ranks stay quiet).

`say` prints a message line (set-up, validation losses, samples) on stdout. Per step, on a terminal, a
live tqdm bar on stderr with the latest loss, validation loss, learning rate and tokens/s; off a terminal
(a log file, a pipe), a plain line on stderr every FINEMILL_PROGRESS_INTERVAL seconds (default 30) and one
at the end, as `finemill run` prints its stages, instead of a bar redrawn with carriage returns.
"""

from __future__ import annotations

import sys
import time

from tqdm.auto import tqdm

from finemill.common import duration, plain_interval


class Progress:
    def __init__(self, master: bool, show: bool = True, live: bool | None = None) -> None:
        self.master = master
        self.show = show and master
        self.live = sys.stderr.isatty() if live is None else live
        self.bar: tqdm | None = None
        self.latest: dict[str, str] = {}

    def say(self, msg: str) -> None:
        """One message line from rank 0, printed above the bar when there is one."""
        if self.master:
            tqdm.write(msg)

    def start(self, total: int, initial: int) -> None:
        self.total, self.initial = total, initial
        self.started = self.last_line = time.perf_counter()
        if self.show and self.live:
            self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, mininterval=0.5)

    def metrics(self, loss: float, val_loss: float | None, lr: float, tokens_per_s: float) -> None:
        """The figures of the latest metrics line, shown from now on."""
        self.latest = {
            "loss": f"{loss:.3f}",
            "val": f"{val_loss:.3f}" if val_loss is not None else "-",
            "lr": f"{lr:.2e}",
            "tok_s": f"{tokens_per_s:.0f}",
        }
        if self.bar is not None:
            self.bar.set_postfix(self.latest, refresh=False)

    def step(self, step: int) -> None:
        """Step `step` is done."""
        if self.bar is not None:
            self.bar.update(1)
        elif self.show and time.perf_counter() - self.last_line >= plain_interval():
            self._plain_line(step)

    def close(self, step: int) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.show and step > self.initial:
            self._plain_line(step)

    def _plain_line(self, step: int) -> None:
        now = time.perf_counter()
        self.last_line = now
        elapsed, done = now - self.started, step - self.initial
        parts = [f"step {step}/{self.total} ({step / self.total:.0%})"]
        parts += [f"{key} {value}" for key, value in self.latest.items() if key != "tok_s"]
        if "tok_s" in self.latest:
            parts.append(f"{int(self.latest['tok_s']):,} tokens/s")
        parts.append(duration(elapsed))
        if done and step < self.total:
            parts.append(f"ETA {duration((self.total - step) * elapsed / done)}")
        print("train: " + ", ".join(parts), file=sys.stderr, flush=True)
