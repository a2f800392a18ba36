"""Sorted-F (Wang, Ye, Zhou 2025): admit the batch of smallest F = sum(õ) / |batch|^2."""

from __future__ import annotations

from agents.mcsf import MCSF
from mcsf_gym.core.view import StateView


class SortedF(MCSF):
    """Sorted-F, online: at each boundary start the feasible new batch of smallest F-metric.

    Rule: keep the running requests; walk the waiting requests by predicted output length
    (ties by arrival, then id), adding each one that passes MC-SF's look-ahead check with
    the running requests and those added so far (skipping those that do not fit). Of the
    sets built along the walk (the first ``k`` added, ``k = 1, 2, ...``) admit the one of
    smallest ``F = sum(õ) / k^2`` (ties: the larger set). F trades batch size against the
    decode work the batch commits to: a long request joins the short ones only when the
    larger batch is worth it (roughly, when its ``õ`` is below twice the batch's mean).

    Source: Wang, Ye, Zhou, "LLM Serving Optimization with Variable Prefill and Decode
    Lengths", arXiv 2508.06133: Sorted-F "repeatedly forms feasible batches using" the
    F-metric ``F(X) = sum_{i in X} o_i / |X|^2``, proven constant-competitive (at most 48) in
    the offline backlog setting. Only the abstract and summaries could be read here. The
    online use is ours: every round boundary is a new backlog (the waiting requests), the
    candidate batches are the shortest-first prefixes of what fits next to the running
    requests, and feasibility is the shared look-ahead check; the paper's exact candidate
    family and its treatment of running requests could not be read.

    Args:
        alpha: memory protection, in ``[0, 1)``.
        eviction: the engine's eviction policy on overflow (default ``newest-first``).
    """

    name = "sorted-f"
    default_eviction = "newest-first"

    def schedule(self, view: StateView) -> list[int]:
        """Admit the shortest-first feasible prefix of smallest F."""
        self._queue.sync(view)
        check = view.admission_check(self.alpha)
        added: list[int] = []
        best, best_count, total = float("inf"), 0, 0
        first: int | None = None
        prompts = view.prompts
        floors = view.predictions
        length_of = view.predicted_length_of
        for ids in self._queue.chunks(view):
            for request in ids:
                if first is None:
                    first = request
                prompt = prompts[request]
                length = length_of(request)
                floor = floors[request]
                if check.fits(prompt, length):
                    check.add(prompt, length)
                    added.append(request)
                    total += length
                    score = total / len(added) ** 2
                    if score <= best:
                        best, best_count = score, len(added)
                elif not check.fits(1, 1) or (
                    not check.fits(1, min(floor, view.memory - 1))
                    and not check.fits(view.memory - floor + 1, 1)
                ):  # nothing later fits: see agents.mcsf.walk_skipping (by_prediction)
                    return self._chosen(view, added[:best_count], first)
        return self._chosen(view, added[:best_count], first)

    @staticmethod
    def _chosen(view: StateView, batch: list[int], first: int | None) -> list[int]:
        if batch or view.n_running or first is None:
            return batch
        return [first]

    def __repr__(self) -> str:
        return f"SortedF(alpha={self.alpha}, eviction={self.default_eviction!r})"
