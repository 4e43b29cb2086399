"""An exponential moving average of a network's weights during training (`WeightAverage`).

Late in training the weights wander around a minimum from step to step (on the separator, the validation
SDR of "other" swung by more than half a dB between checkpoints a few hundred steps apart); their running
average sits nearer its centre and changes slowly, so it both scores better on average and makes the
choice of the best checkpoint less of a draw. The average is a second copy of the network whose
parameters follow the trained ones:

    average ← d · average + (1 − d) · weights,   d = min(decay, (1 + n) / (10 + n)) after n updates,

the ramp letting the first updates of a run move it quickly away from where it started. Buffers (the band
layout) are constants of the architecture and are not averaged.
"""

from __future__ import annotations

import copy
from typing import Any


class WeightAverage:
    """The running average of `model`'s parameters with `decay` per step (see the module docstring)."""

    def __init__(self, model: Any, decay: float, updates: int = 0) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight-average decay must be between 0 and 1 (exclusive), not {decay}")
        self.decay = decay
        self.updates = updates
        self.model = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    def rate(self) -> float:
        """The decay of the next update (ramped up over the first updates)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self, model: Any) -> None:
        """Move the average towards `model`'s current parameters by one step."""
        import torch

        decay = self.rate()
        with torch.no_grad():
            for averaged, current in zip(self.model.parameters(), model.parameters(), strict=True):
                averaged.lerp_(current, 1.0 - decay)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """The averaged network's state dict (what `best.safetensors` and an export hold)."""
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)
