"""MC-SF-skip: MC-SF's order and look-ahead check, passing over requests that do not fit."""

from __future__ import annotations

from agents.mcsf import MCSF, walk_skipping
from mcsf_gym.core.view import StateView


class MCSFSkip(MCSF):
    """MC-SF that skips a request that does not fit instead of stopping there.

    Rule: keep every running request; walk the waiting requests by predicted output length
    (ties by arrival, then id) and admit each one for which MC-SF's look-ahead check holds
    (predicted memory within ``M (1 - alpha)`` at every future predicted completion time,
    with the requests admitted so far); a request that does not fit is passed over and the
    walk goes on. With a single prompt size it admits what MC-SF admits plus whatever
    shorter-prompted requests still fit behind the first miss.

    Source: the variant that docs/model.md section 5 mentions ("a variant that skips and
    continues"), of MC-SF (Jaillet et al., NeurIPS 2025, arXiv 2502.07115, Algorithm 1);
    measured in this project's issue 12 on Azure code-trace windows at 31.7% lower mean
    latency than MC-SF.

    Default eviction ``newest-first``: with predictions that are too short, clear-all throws
    away every running request on each overflow (MC-SF on ``lmsys`` at ``noisy:eps=0.5``:
    see ``docs/agents.md`` for the measurements); newest-first throws away the least work.

    Args:
        alpha: memory protection, in ``[0, 1)``: the check uses ``M (1 - alpha)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "mcsf-skip"
    default_eviction = "newest-first"

    def schedule(self, view: StateView) -> list[int]:
        """Admit, shortest predicted first, every waiting request that passes the check."""
        self._queue.sync(view)
        return walk_skipping(view, self._queue.chunks(view), self.alpha, by_prediction=True)

    def __repr__(self) -> str:
        return f"MCSFSkip(alpha={self.alpha}, eviction={self.default_eviction!r})"
