"""What SequenceClassifier and SequenceRegressor share: parameters, pooling, batched outputs."""

from __future__ import annotations

import torch
from sklearn.utils._param_validation import StrOptions

from . import data as _data
from ._base import BaseSequenceEstimator, make_encoder
from .modules import PoolingNetwork
from .serving import InferenceNetwork


def per_kind(numeric, text):
    """An ``_auto_params`` entry: one value for numeric input, one for tokens and characters."""
    return {"numeric": numeric, "tokens": text, "chars": text}


def auto_doc(table):
    """The sentence that says what ``"auto"`` means for one ``_auto_params`` entry."""
    return (f'"auto": {table["numeric"]!r} for numeric input, {table["tokens"]!r} for token '
            "and character input")


_AUTO = [StrOptions({"auto"})]


class ManyToOneMixin(BaseSequenceEstimator):
    """Reads a whole sequence, pools its steps and emits one output vector."""

    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "pooling": [StrOptions({"last", "mean", "max", "auto"})],
        "cell": BaseSequenceEstimator._parameter_constraints["cell"] + _AUTO,
        "learning_rate": BaseSequenceEstimator._parameter_constraints["learning_rate"] + _AUTO,
        "n_iter_no_change": (BaseSequenceEstimator._parameter_constraints["n_iter_no_change"]
                             + _AUTO),
    }

    def _serving_network(self, network):
        return InferenceNetwork(network, "proba", per_step=False)

    def _build_network(self, config):
        return PoolingNetwork(make_encoder(config["encoder"]), config["n_outputs"],
                              config["pooling"], config["dropout"])

    def _outputs(self, X):
        """Network outputs for X, (n_samples, n_outputs) float32, in the order of X."""
        return self._predict_rows(X, _rows)

    def _validation_outputs(self, module, data):
        """Outputs and targets of held-out data (no gradients, eval mode set by the caller)."""
        outs, targets = [], []
        for idx in self._inference_batches(data.lengths):
            batch = _data.collate(data, idx, self.device_)
            outs.append(module(batch))
            targets.append(batch.targets)
        return torch.cat(outs), torch.cat(targets)

    def _validation_partial(self, module, data):
        """Outputs and targets of ``data`` on the CPU (data-parallel ranks gather them)."""
        return tuple(t.cpu() for t in self._validation_outputs(module, data))

    def _validation_combine(self, partials):
        outputs, targets = (torch.cat([p[i] for p in partials]).to(self.device_) for i in (0, 1))
        return self._score_outputs(outputs, targets)


def _rows(module, batch):
    return module(batch).float()  # (N, n_outputs)
