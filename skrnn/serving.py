"""The serving network: a fitted network behind padded tensors in, final outputs out.

Torch only. Each estimator wraps its own network in :class:`InferenceNetwork`
(its ``_serving_network`` hook); :mod:`skrnn.export` exports whatever that
hook returns and knows no estimator type.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import data as _data


class InferenceNetwork(nn.Module):
    """A fitted network in eval mode: padded tensors in, final outputs out.

    Parameters
    ----------
    network : nn.Module
        A network with a ``RecurrentEncoder`` (``network.encoder``), on the
        CPU. Call ``.eval()`` before use (:func:`skrnn.export.inference_network`
        does), so that dropout is off.
    output : {"proba", "log_proba", "scores", "regression"}
        Softmax over the last axis; log-softmax with the ``banned`` ids at
        -inf (language model); a tagger's chain-decoding scores
        (``network.chain_emissions``); or regression outputs mapped back to
        the target units.
    banned : list of int, optional
        Ids with probability 0 ("log_proba" only).
    y_mean, y_scale : array-like of shape (n_outputs,), optional
        Target standardisation ("regression" only).
    squeeze : bool, default=False
        Return a single regression output as shape (N,).
    per_step : bool, default=True
        Outputs per step (N, L, ...), zeroed at padded steps; False: one per
        sequence.
    """

    def __init__(self, network, output, *, banned=None, y_mean=None, y_scale=None,
                 squeeze=False, per_step=True):
        super().__init__()
        self.network = network
        self.output = output
        self.squeeze = squeeze
        self.per_step = per_step
        self.uses_chars = network.encoder.char_cnn is not None
        if output == "log_proba":
            banned_mask = torch.zeros(network.head.out_features, dtype=torch.bool)
            banned_mask[list(banned)] = True
            self.register_buffer("banned", banned_mask)
        if output == "regression":
            self.register_buffer("y_mean", torch.tensor(np.asarray(y_mean), dtype=torch.float32))
            self.register_buffer("y_scale",
                                 torch.tensor(np.asarray(y_scale), dtype=torch.float32))

    def forward(self, inputs, lengths, chars=None):
        """Outputs for ``inputs`` (N, L) or (N, L, F), ``lengths`` (N,), ``chars`` (N, L, W)."""
        batch = _data.Batch(inputs=inputs, lengths=lengths, index=None)
        if self.uses_chars:
            n, longest = inputs.shape
            # Each (sequence, step) is its own row of the form table: the CNN reads
            # every token's characters independently, so this equals training's
            # table of distinct forms, without a data-dependent unique().
            batch.chars = chars.flatten(0, 1)  # (N*L, W)
            batch.char_index = torch.arange(n * longest, device=inputs.device).view(n, longest)
        if self.output == "log_proba":
            logits, _ = self.network(batch)  # (N, L, V)
            out = torch.log_softmax(logits.masked_fill(self.banned, float("-inf")), dim=-1)
        else:
            out = self.network(batch)  # (N, L, C) or (N, C)
            if self.output == "proba":
                out = torch.softmax(out, dim=-1)
            elif self.output == "scores":  # what a tagger's chain decoder adds up
                out = self.network.chain_emissions(out)
            else:
                out = out * self.y_scale + self.y_mean  # (N, n_outputs)
                if self.squeeze:
                    out = out[:, 0]
        if self.per_step:
            longest = inputs.shape[1]
            padded = torch.arange(longest, device=inputs.device) >= lengths.unsqueeze(1)
            out = out.masked_fill(padded.unsqueeze(2), 0.0)  # (N, L, C)
        return out


class ChainServingNetwork(nn.Module):
    """A tagger that decodes over a chain (CRF or tag scheme), for export.

    Returns the per-step scores the decoder adds up -- a CRF's emission
    scores, or log-probabilities for a softmax tagger with a tag scheme --
    zeroed at padded steps, and the transition scores ``(C, C)`` [from, to],
    ``start`` and ``end`` ``(C,)`` with invalid entries at
    :data:`skrnn.crf.NOT_ALLOWED`. :func:`skrnn.crf.viterbi_numpy` on these
    outputs gives the labels of ``predict`` (as ids into ``classes_``).
    """

    def __init__(self, network):
        super().__init__()
        self.scores = InferenceNetwork(network, "scores")
        self.network = network

    def forward(self, inputs, lengths, chars=None):
        scores = self.scores(inputs, lengths, chars)
        transitions, start, end = self.network.transition_scores()
        # Fresh tensors: an exported graph may not return views of its weights.
        return scores, transitions.clone(), start.clone(), end.clone()
