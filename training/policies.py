"""A whole-queue policy for the admit mode: a deep-set encoder that scores every shown request.

The MLP policy reads the flat observation as one vector, so it must learn each slot's meaning
separately and sees only a short window. :class:`SlotScoringPolicy` instead treats the shown
waiting requests as a *set*: one shared network embeds every slot with the global state
(memory, counts, the running-set histogram), the embeddings are pooled (masked mean over the
occupied slots), and a shared head scores each slot against the pooled context. The scores
are the logits of "admit slot k"; one more head scores "advance". So

- the logits are permutation-equivariant in the slots (permuting the requests permutes their
  scores) and the value is permutation-invariant;
- empty slots (padding) never influence anything: they are left out of the pool and the
  environment's mask forbids them;
- the number of parameters does not depend on the window, so a window of 32 or 64 (most of
  the queue on the built-in workloads) costs no more weights than 8.

Used through ``mcsf-train`` with ``policy = "slot-set"`` (admit mode, flat observations), or
directly: ``MaskablePPO(SlotScoringPolicy, env, policy_kwargs={"window": K})``. A model saved
with it loads as usual (``agents.make_agent("maskable-ppo:PATH")``; torch and this module are
imported by SB3's loader).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from mcsf_gym.env.observations import GLOBAL_FEATURES, SLOT_FEATURES

_N_GLOBAL = len(GLOBAL_FEATURES)
_N_SLOT = len(SLOT_FEATURES)


def split_observation(
    observation: torch.Tensor, window: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The flat observation as ``(context, slots, occupied)``.

    Args:
        observation: ``(batch, 8 + 6 K + 2 B)`` raw flat observations.
        window: ``K``.

    Returns:
        ``context`` ``(batch, 8 + 2 B)`` (global features and running-set histogram),
        ``slots`` ``(batch, K, 6)`` and ``occupied`` ``(batch, K)`` booleans.
    """
    stop = _N_GLOBAL + window * _N_SLOT
    slots = observation[:, _N_GLOBAL:stop].reshape(-1, window, _N_SLOT)
    context = torch.cat([observation[:, :_N_GLOBAL], observation[:, stop:]], dim=1)
    return context, slots, slots[:, :, 0] > 0.5


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


#: How the slot embeddings are pooled: their masked mean, or the mean and the maximum.
POOLS = ("mean", "mean-max")


class SlotSetExtractor(BaseFeaturesExtractor):
    """Deep-set features: ``[slot scores (K), advance score, context (d), pooled]``.

    It needs the environment's raw observations (every feature is already in ``[0, 1]``):
    VecNormalize scales each slot index with its own statistics, which would make the slots
    unlike one another and break the set structure, so train it with ``normalize_obs =
    false`` (``mcsf-train`` refuses the combination). Rewards may be normalised.

    Args:
        observation_space: the flat ``Box`` of the environment.
        window: ``K``.
        embed: the width ``d`` of the embeddings.
        positional: give every slot its rank in the window (``k / (K - 1)``) as one more
            input. The window is ordered (by prediction in MC-SF's order), so the rank says
            which request a rule that walks the order would take first; the scores are then
            no longer permutation-equivariant.
        pool: ``"mean"`` (``d`` pooled features) or ``"mean-max"`` (``2 d``: the maximum
            lets a head see one slot, e.g. "the first request does not fit", whatever the
            number of requests).
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        window: int,
        embed: int = 64,
        positional: bool = False,
        pool: str = "mean",
    ) -> None:
        size = int(observation_space.shape[0])
        bins2 = size - _N_GLOBAL - window * _N_SLOT
        if bins2 < 0 or bins2 % 2:
            raise ValueError(
                f"observation of {size} features does not fit window={window} "
                f"({_N_GLOBAL} + {_N_SLOT} x window + 2 x bins)"
            )
        if pool not in POOLS:
            raise ValueError(f"slot-set pool must be one of {', '.join(POOLS)}, got {pool!r}")
        pooled = embed * (2 if pool == "mean-max" else 1)
        super().__init__(observation_space, features_dim=window + 1 + embed + pooled)
        self.window = window
        self.positional = bool(positional)
        self.pool = pool
        #: The width of ``[context, pooled]``, the input of the value head.
        self.summary_dim = embed + pooled
        inputs = _N_SLOT + (1 if self.positional else 0)
        self.context_net = _mlp(_N_GLOBAL + bins2, embed, embed)
        self.slot_net = _mlp(inputs + embed, embed, embed)
        self.score_net = _mlp(embed + pooled, embed, 1)
        self.advance_net = _mlp(embed + pooled, embed, 1)
        for head in (self.score_net, self.advance_net):  # near-uniform initial policy
            nn.init.orthogonal_(head[-1].weight, gain=0.01)
            nn.init.zeros_(head[-1].bias)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Scores and pooled features for a batch of flat observations."""
        context, slots, occupied = split_observation(observations, self.window)
        ctx = torch.relu(self.context_net(context))
        batch, k = slots.shape[0], slots.shape[1]
        parts = [slots, ctx.unsqueeze(1).expand(-1, k, -1)]
        if self.positional:
            rank = torch.linspace(0.0, 1.0, k, dtype=slots.dtype, device=slots.device)
            parts.insert(1, rank.view(1, k, 1).expand(batch, -1, -1))
        embedded = torch.relu(self.slot_net(torch.cat(parts, dim=2)))
        weights = occupied.unsqueeze(2).to(embedded.dtype)
        pooled = (embedded * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        if self.pool == "mean-max":
            # Embeddings are >= 0 (ReLU), so zeroing the padding leaves the maximum unchanged.
            pooled = torch.cat([pooled, (embedded * weights).amax(1)], dim=1)
        scores = self.score_net(
            torch.cat([embedded, pooled.unsqueeze(1).expand(-1, k, -1)], dim=2)
        ).squeeze(2)
        advance = self.advance_net(torch.cat([ctx, pooled], dim=1))
        return torch.cat([scores, advance, ctx, pooled], dim=1)


class _Slice(nn.Module):
    """Picks features ``start:stop`` (a head without parameters)."""

    def __init__(self, start: int, stop: int | None) -> None:
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The slice."""
        return features[:, self.start : self.stop]


class SlotScoringPolicy(MaskableActorCriticPolicy):
    """MaskablePPO policy whose logits are :class:`SlotSetExtractor`'s per-slot scores.

    Args:
        observation_space: the flat ``Box`` of the admit-mode environment.
        action_space: ``Discrete(K + 1)``.
        lr_schedule: SB3's learning-rate schedule.
        window: ``K`` (must match the action space).
        embed: the embedding width ``d``.
        value_hidden: hidden width of the value head (on ``[context, pooled]``).
        positional: slot ranks as inputs (:class:`SlotSetExtractor`).
        pool: ``"mean"`` or ``"mean-max"`` (:class:`SlotSetExtractor`).
        **kwargs: passed to :class:`MaskableActorCriticPolicy` (``net_arch`` is fixed).

    Raises:
        ValueError: if ``window`` does not match the action space.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        window: int = 8,
        embed: int = 64,
        value_hidden: int = 64,
        positional: bool = False,
        pool: str = "mean",
        **kwargs: Any,
    ) -> None:
        if int(action_space.n) != window + 1:
            raise ValueError(
                f"window={window} does not match the action space {action_space} "
                f"(window + 1 actions)"
            )
        self.window = window
        self.embed = embed
        self.value_hidden = value_hidden
        self.positional = positional
        self.pool = pool
        kwargs.pop("net_arch", None)
        kwargs["features_extractor_class"] = SlotSetExtractor
        kwargs["features_extractor_kwargs"] = {
            "window": window,
            "embed": embed,
            "positional": positional,
            "pool": pool,
        }
        super().__init__(observation_space, action_space, lr_schedule, net_arch=[], **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        k = self.window
        self.action_net = _Slice(0, k + 1)
        self.value_net = nn.Sequential(
            _Slice(k + 1, None),
            nn.Linear(self.features_extractor.summary_dim, self.value_hidden),
            nn.Tanh(),
            nn.Linear(self.value_hidden, 1),
        )
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            window=self.window,
            embed=self.embed,
            value_hidden=self.value_hidden,
            positional=self.positional,
            pool=self.pool,
        )
        return data
