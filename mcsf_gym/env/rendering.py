"""Rendering: a text summary (``"ansi"``) and a memory/queue chart (``"rgb_array"``).

The chart is drawn with matplotlib when it is installed (``pip install 'mcsf-gym[plot]'``):
two panels with axes, tick labels, axis titles and a legend. Without matplotlib the same two
panels are drawn with numpy alone, with axis lines but no text.
"""

from __future__ import annotations

from typing import Any

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


def chart_figure(
    history: list[tuple[float, int, int, int]], memory: int, time_unit: str = "rounds"
) -> Any:
    """The matplotlib figure of :func:`render_rgb` (``WIDTH x HEIGHT`` pixels).

    Top: KV tokens in use (blue, filled) and the capacity ``M`` (red, dashed) over time.
    Bottom: waiting (orange, filled) and running (green) requests over time.

    Args:
        history: ``(time, memory in use, waiting, running)`` after every engine call.
        memory: the capacity ``M``.
        time_unit: the unit of the time axis (``"rounds"`` or ``"s"``).

    Raises:
        ImportError: if matplotlib is missing.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / 100, HEIGHT / 100), dpi=100)
    top, bottom = figure.subplots(2, 1, sharex=True)
    records = np.asarray(history, dtype=np.float64).reshape(-1, 4)
    time, used, waiting, running = records.T
    colour = [tuple(c / 255 for c in rgb) for rgb in (_MEMORY, _CAPACITY, _WAITING, _RUNNING)]
    top.fill_between(time, used, step="post", color=colour[0], label="in use", linewidth=0)
    top.axhline(memory, color=colour[1], linestyle="--", linewidth=1, label=f"M = {memory}")
    top.set_ylim(0, memory * 1.1)
    top.set_ylabel("KV tokens", fontsize=7)
    top.legend(fontsize=6, loc="upper left", frameon=False, ncol=2)
    bottom.fill_between(time, waiting, step="post", color=colour[2], label="waiting", linewidth=0)
    bottom.step(time, running, where="post", color=colour[3], linewidth=1, label="running")
    bottom.set_ylim(0, max(1.0, float(records[:, 2:].max(initial=0.0))) * 1.15)
    bottom.set_ylabel("requests", fontsize=7)
    bottom.set_xlabel(f"time ({time_unit})", fontsize=7)
    bottom.legend(fontsize=6, loc="upper left", frameon=False, ncol=2)
    for axes in (top, bottom):
        axes.tick_params(labelsize=6)
    figure.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.16, hspace=0.12)
    return figure


def render_rgb(
    history: list[tuple[float, int, int, int]], memory: int, time_unit: str = "rounds"
) -> NDArray[np.uint8]:
    """A chart of the episode so far: :func:`chart_figure`, or a numpy chart without text.

    Args:
        history: ``(time, memory in use, waiting, running)`` after every engine call.
        memory: the capacity ``M``.
        time_unit: the unit of the time axis (``"rounds"`` or ``"s"``).

    Returns:
        An ``(HEIGHT, WIDTH, 3)`` ``uint8`` image.
    """
    try:
        figure = chart_figure(history, memory, time_unit)
    except ImportError:
        return render_rgb_plain(history, memory)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


def render_rgb_plain(
    history: list[tuple[float, int, int, int]], memory: int
) -> NDArray[np.uint8]:
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
