"""Rendering: a text summary (``"ansi"``) and a memory/queue chart (``"rgb_array"``, numpy only)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mcsf_gym.env.boundary import Boundary

WIDTH, HEIGHT = 480, 240
_BACKGROUND = (255, 255, 255)
_MEMORY = (31, 119, 180)
_CAPACITY = (214, 39, 40)
_WAITING = (255, 127, 14)
_RUNNING = (44, 160, 44)
_AXIS = (128, 128, 128)


def render_ansi(boundary: Boundary) -> str:
    """The state at the current boundary as text: memory bar, counts and the window."""
    view = boundary.view
    memory = boundary.memory
    used = view.memory_in_use
    filled = min(40, round(40 * used / memory))
    waiting = boundary.n_waiting
    lines = [
        f"time {view.time:g}  round {view.round_index}  finished {view.n_finished}"
        f"/{view.prompt.size}",
        f"memory [{'#' * filled}{'.' * (40 - filled)}] {used}/{memory}  "
        f"predicted peak {boundary.check.peak()}",
        f"running {view.n_running}  pending {len(boundary.pending)} "
        f"{list(boundary.pending)}  waiting {waiting}",
        " slot   id  prompt  pred  waited  valid",
    ]
    valid = boundary.slot_valid()
    for slot, request in enumerate(boundary.window()):
        lines.append(
            f"{slot:5d} {request:4d} {int(view.prompt[request]):7d} "
            f"{boundary.predicted_length(request):5d} "
            f"{view.time - float(view.arrival[request]):7g}  {'yes' if valid[slot] else 'no'}"
        )
    hidden = waiting - len(boundary.window())
    if hidden > 0:
        lines.append(f"  ... {hidden} more waiting outside the window")
    return "\n".join(lines) + "\n"


def render_rgb(history: list[tuple[float, int, int, int]], memory: int) -> NDArray[np.uint8]:
    """A chart of the episode so far, one column per recorded step (resampled to the width).

    Top half: memory in use (blue) against the capacity ``M`` (red line). Bottom half: the
    waiting (orange bars) and running (green line) request counts, scaled to the largest seen.

    Args:
        history: ``(time, memory in use, waiting, running)`` after every engine call.
        memory: the capacity ``M``.

    Returns:
        An ``(HEIGHT, WIDTH, 3)`` ``uint8`` image.
    """
    image = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    half = HEIGHT // 2
    image[half - 1, :] = _AXIS
    if history:
        records = np.asarray([row[1:] for row in history], dtype=np.float64)
        columns = np.linspace(0, len(records) - 1, WIDTH).round().astype(np.int64)
        used, waiting, running = records[columns].T
        rows = np.arange(half - 2)[:, None]
        top = half - 2 - np.minimum(used / memory, 1.0) * (half - 4)
        image[: half - 2][rows >= top[None, :]] = _MEMORY
        scale = max(1.0, float(records[:, 1:].max()))
        lower = HEIGHT - half
        bars = np.arange(lower)[:, None]
        waiting_top = lower - waiting / scale * (lower - 2)
        running_row = np.clip(lower - 1 - running / scale * (lower - 2), 0, lower - 1)
        panel = image[half:]
        panel[bars >= waiting_top[None, :]] = _WAITING
        panel[running_row.astype(np.int64), np.arange(WIDTH)] = _RUNNING
    image[1, :] = _CAPACITY
    return image
