"""skrnn: recurrent neural networks as scikit-learn estimators on PyTorch.

Estimators
----------
SequenceTagger
    One label per step (part-of-speech, chunk, entity tagging).
SequenceClassifier, SequenceRegressor
    One label / one or more numbers per sequence (many-to-one).
LanguageModel
    Next-token model over characters or words: score, perplexity, sample.
Seq2Seq
    Encoder-decoder with attention: outputs of another length (many-to-many).

See :mod:`skrnn.metrics` for sequence metrics and scorers,
:mod:`skrnn.preprocessing` for pipeline steps, :mod:`skrnn.datasets`
for the bundled real data and :mod:`skrnn.inspection` for pictures of
fitted models (training curves, attention, tag confusion; needs matplotlib).
"""

from .classifier import SequenceClassifier
from .language_model import LanguageModel
from .persistence import load
from .preprocessing import StepwiseTransformer, TokenNormalizer
from .regressor import SequenceRegressor
from .seq2seq import Seq2Seq
from .tagger import SequenceTagger
from .vocab import Vocabulary

# The one place the version is written: pyproject.toml reads it ([tool.setuptools.dynamic]).
__version__ = "0.1.0.dev0"

__all__ = [
    "LanguageModel",
    "Seq2Seq",
    "SequenceClassifier",
    "SequenceRegressor",
    "SequenceTagger",
    "StepwiseTransformer",
    "TokenNormalizer",
    "Vocabulary",
    "__version__",
    "load",
]
