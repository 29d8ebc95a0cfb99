"""SequenceClassifier: one label per sequence (sentiment, speaker, activity)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from . import _fitted as _f
from ._base import (
    DEFAULT_STANDARDIZE,
    _input_attributes_doc,
    _input_params_doc,
    _optimizer_params_doc,
    _precision_param_doc,
)
from ._many_to_one import ManyToOneMixin, auto_doc, per_kind

#: What "auto" means for the classifier, per kind of input. The numeric values
#: come from benchmarks/many_to_one.py (see the class Notes); token and
#: character input keep the defaults they had before "auto" existed.
AUTO_PARAMS = {
    "cell": per_kind("gru", "lstm"),
    "pooling": per_kind("mean", "mean"),
    "learning_rate": per_kind(1e-2, 5e-3),
    "n_iter_no_change": per_kind(50, 10),
}


def _shared_doc(auto):
    """The parameters both many-to-one estimators share; ``auto``: their ``_auto_params``."""
    return """
    cell : str, default="auto"
        A name of the cell table, :data:`skrnn.cells.CELLS` (see
        ``docs/cells.md``), or """ + auto_doc(auto["cell"]) + """.
    hidden_size : int, default=64
        Hidden units per direction and layer.
    num_layers : int, default=1
    bidirectional : bool, default=True
    pooling : {"mean", "last", "max", "auto"}, default="auto"
        """ + auto_doc(auto["pooling"]) + """.
        How the per-step outputs become one vector: the mean or maximum
        over real steps, or the last state (for a bidirectional stack the
        forward direction's last and the backward direction's first step,
        both of which have read the whole sequence). Mean pooling trains
        fastest: every step receives gradient directly.
    embedding_dim : int, default=100
        Token embedding size (token or character input only).
    char_embedding_dim : int or None, default=32
        Character-CNN features for token input (None turns them off).
    char_filters : int, default=64
    min_freq : int, default=1
    max_vocab_size : int or None, default=None
    dropout : float, default=0.2
        Between recurrent layers and before the output layer; on the
        inputs as ``input_dropout`` says.
""" + _input_params_doc(("tokens", "chars", "numeric")) + """\
    clip_value : float or None, default=5.0
    clip_norm : float or None, default=None
    batch_size : int, default=32
    max_epochs : int, default=100
    learning_rate : float or "auto", default="auto"
        Adam's step size; """ + auto_doc(auto["learning_rate"]) + """.
    weight_decay : float, default=0.0
""" + _optimizer_params_doc() + """\
    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the sequences and stop when the
        validation score has not improved by ``tol`` for ``n_iter_no_change``
        epochs, keeping the best weights; "auto" is on from 1000 sequences.
    validation_fraction : float, default=0.1
    n_iter_no_change : int or "auto", default="auto"
        """ + auto_doc(auto["n_iter_no_change"]) + """.
        Epochs without an improvement of ``tol`` before training stops: of
        the validation score with early stopping, otherwise of the training
        loss (as scikit-learn's MLP does). Set it to ``max_epochs`` to always
        train ``max_epochs`` epochs.
    tol : float, default=1e-4
    random_state : int, RandomState instance or None, default=None
    device : {"auto", "cpu", "cuda"} or str, default="auto"
""" + _precision_param_doc() + """\
    verbose : int, default=0
    warm_start : bool, default=False
"""


class SequenceClassifier(ClassifierMixin, ManyToOneMixin):
    __doc__ = """Recurrent classifier of whole sequences (many-to-one).

    Reads each sequence with a recurrent stack, pools the per-step outputs
    into one vector and classifies it. Sequences may have different
    lengths; padding never changes a result.

    Parameters
    ----------""" + _shared_doc(AUTO_PARAMS) + """\
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn's classifiers.
        A dict maps labels to weights, each a finite number > 0 (classes
        left out weigh 1); "balanced" weighs each class inversely to its
        frequency in y. Read again by every call to :meth:`fit` and
        :meth:`partial_fit`, so ``set_params`` takes effect on the next
        one (a ``warm_start`` fit recomputes "balanced" from its own y).
        :meth:`partial_fit` refuses "balanced", as scikit-learn's
        ``SGDClassifier`` does: one batch does not tell the class
        frequencies.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
        Features per step (numeric input). A 2-D array X of shape
        ``(n_samples, n_steps)`` is read as univariate series: 1 feature.
""" + _input_attributes_doc() + """\
    input_kind_, vocabulary_, char_vocabulary_, module_, history_,
    loss_curve_, validation_scores_, best_validation_score_, n_iter_
        As for :class:`skrnn.SequenceTagger` (validation score: accuracy).

    Notes
    -----
    Tokens (and characters) never seen in training are read as ``<unk>``.
    :meth:`score` is the accuracy of :meth:`predict`: labels of y never seen
    in training count as errors; ``partial_fit`` refuses them.

    The numeric defaults (``standardize``, ``input_dropout``, and the "auto"
    ``cell``, ``pooling``, ``learning_rate`` and ``n_iter_no_change``) were
    chosen with ``benchmarks/many_to_one.py`` on six UCR/UEA data sets
    (ArrowHead, BasicMotions, GunPoint, ItalyPowerDemand, JapaneseVowels,
    OSULeaf; 3 seeds): mean test accuracy 0.594 with the former defaults
    (LSTM, learning rate 5e-3, unscaled input, input dropout 0.2, training
    stopped after 10 epochs without a lower training loss), 0.807 with
    these. A GRU beat the LSTM (0.789 vs 0.691 at 100 epochs), 1e-2 beat
    5e-3 (0.807 vs 0.789), mean pooling beat last-state pooling (0.789 vs
    0.759). The best simple baseline (1-NN or logistic regression on the
    raw series, SVC or logistic regression on pooled statistics) still
    wins on five of the six, by 0.002 (GunPoint) to 0.40 (ArrowHead);
    MiniRocket reaches 0.960.

    Examples
    --------
    >>> import numpy as np
    >>> from skrnn import SequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(5, 15), 2) for _ in range(60)]
    >>> y = [int(x[:, 0].mean() > 0) for x in X]
    >>> clf = SequenceClassifier(hidden_size=8, max_epochs=30, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _auto_params: dict = {**ManyToOneMixin._auto_params, **AUTO_PARAMS}
    _parameter_constraints: dict = {
        **ManyToOneMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _fitted_attributes: dict = {
        **ManyToOneMixin._fitted_attributes,
        "classes_": _f.Attr(_f.class_labels),
        "_class_weights": _f.Attr(_f.optional(_f.float_array(length_of="classes_"))),
    }

    def __init__(
        self,
        cell="auto",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        *,
        pooling="auto",
        embedding_dim=100,
        char_embedding_dim=32,
        char_filters=64,
        min_freq=1,
        max_vocab_size=None,
        dropout=0.2,
        input_dropout="auto",
        standardize=DEFAULT_STANDARDIZE,
        clip_value=5.0,
        clip_norm=None,
        batch_size=32,
        max_epochs=100,
        learning_rate="auto",
        weight_decay=0.0,
        solver="adam",
        momentum=0.9,
        lr_schedule="constant",
        lr_decay=0.5,
        lr_patience=1,
        lr_decay_after=4,
        class_weight=None,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        random_state=None,
        device="auto",
        precision="float32",
        verbose=0,
        warm_start=False,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.embedding_dim = embedding_dim
        self.char_embedding_dim = char_embedding_dim
        self.char_filters = char_filters
        self.min_freq = min_freq
        self.max_vocab_size = max_vocab_size
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.standardize = standardize
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.solver = solver
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_patience = lr_patience
        self.lr_decay_after = lr_decay_after
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the classifier.

        Parameters
        ----------
        X : list of sequences or array-like
            Token lists, strings, 2-D float arrays ``(T_i, n_features)`` of
            varying lengths, a 2-D array ``(n_samples, n_steps)`` (univariate
            series) or a 3-D array ``(n_samples, n_steps, n_features)``.
        y : array-like of shape (n_samples,)
            Labels (str or int).

        Returns
        -------
        self : SequenceClassifier
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch from the current weights; ``classes`` lists every label on the first call.

        ``class_weight`` must be None or a dict here (it is read again on
        every call); "balanced" raises a ValueError.
        """
        if isinstance(self.class_weight, str):  # "balanced", the only str allowed
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch does not "
                "tell the class frequencies of the whole training set. Compute the weights "
                "once from all training labels (or a large enough sample of them), e.g. "
                "w = sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y), and pass them as a dict: "
                "class_weight=dict(zip(classes, w))."
            )
        return self._fit(X, y, incremental=True, classes=classes)

    def _check_fit_targets(self, y, seqs, *, classes=None, first=True):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        y = _check_label_types(y)
        try:
            y = column_or_1d(y, warn=True)
        except ValueError as exc:
            if "inhomogeneous" not in str(exc):
                raise  # scikit-learn's own message (e.g. "y should be a 1d array")
            raise ValueError(
                "y must be a 1-D array-like of labels (str or int), one per sequence of X; "
                "it holds nested sequences of different lengths."
            ) from None
        if len(y) != len(seqs):
            raise ValueError(
                f"X and y have different numbers of samples: {len(seqs)} and {len(y)}."
            )
        check_classification_targets(y)
        if first:
            found = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(found) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in the data, "
                    f"but the data contains only one class: {found[0]!r}."
                )
            self.classes_ = found
        missing = np.setdiff1d(np.unique(y), self.classes_)
        if missing.size:
            raise ValueError(
                f"y holds labels the classifier was not fitted with: {missing[:10].tolist()}. "
                "Refit, or pass every label in `classes` to the first partial_fit call."
            )
        # On every call, not only the first: set_params(class_weight=...) before a
        # partial_fit or warm_start fit takes effect.
        self._class_weights = self._resolve_class_weights(y)
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _resolve_class_weights(self, y):
        """One loss weight per class of ``classes_`` (float64), or None for equal weights."""
        cw = self.class_weight
        if cw is None:
            return None
        classes = self.classes_
        weights = np.ones(len(classes))
        if isinstance(cw, str):  # "balanced": from this call's y (partial_fit refuses it)
            present = np.unique(y)
            weights[np.searchsorted(classes, present)] = compute_class_weight(
                "balanced", classes=present, y=y)
            return weights
        index = {c: i for i, c in enumerate(classes.tolist())}
        unknown = [k for k in cw if k not in index]
        if unknown:
            shown = [k.item() if isinstance(k, np.generic) else k for k in unknown[:10]]
            raise ValueError(
                f"class_weight has keys that are not labels of y: {shown}; the classes are "
                f"{classes[:20].tolist()}. Use the labels themselves as keys, e.g. "
                f"class_weight={{{classes.tolist()[0]!r}: 2.0}}."
            )
        for key, w in cw.items():
            weights[index[key]] = _check_class_weight(key, w)
        return weights

    def _network_config(self):
        return {"n_outputs": len(self.classes_), "pooling": self._setting("pooling"),
                "dropout": self.dropout}

    def _weights(self, device):
        if self._class_weights is None:
            return None
        return torch.as_tensor(self._class_weights, dtype=torch.float32, device=device)

    def _batch_loss(self, module, batch):
        logits = module(batch)  # (N, C)
        loss = F.cross_entropy(logits, batch.targets, weight=self._weights(logits.device))
        return loss, len(batch.targets)

    def _loss_weight(self, batch, n):
        # With class weights the loss is a weighted mean: it sums over the weights.
        if self._class_weights is None:
            return n
        return float(np.asarray(self._class_weights)[batch.targets.cpu().numpy()].sum())

    def _score_outputs(self, logits, targets):
        loss = F.cross_entropy(logits, targets, weight=self._weights(logits.device)).item()
        return loss, float((logits.argmax(1) == targets).float().mean())

    def decision_function(self, X):
        """Class scores (logits); for two classes the log-odds of ``classes_[1]``, shape (n,).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        logits = self._outputs(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably, shape (n_samples, n_classes)."""
        logits = torch.from_numpy(self._outputs(X)).double()
        return torch.log_softmax(logits, dim=1).numpy()

    def predict_proba(self, X):
        """Class probabilities, columns in ``classes_`` order, shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def score(self, X, y, sample_weight=None):
        """Accuracy, as :meth:`sklearn.base.ClassifierMixin.score`; y as for :meth:`fit`."""
        y = _check_label_types(y)
        return super().score(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """The most likely label of each sequence, shape (n_samples,)."""
        best = self._outputs(X).argmax(axis=1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.classifier_tags.multi_label = False
        return tags


def _check_label_types(y):
    """Check the label types of y and return y, integer labels made exact.

    Refuses None and str mixed with other labels (numpy cannot even sort
    them) and integers beyond int64. Integers numpy can hold in no integer
    dtype together (``numpy.uint64`` next to negative ints becomes float64,
    merging distinct large labels) come back as an int64 array.
    """
    if y is None or isinstance(y, str):
        return y  # sklearn's checks say what is wrong
    try:
        values = np.asarray(y)  # as sklearn reads it: ['A', 1] becomes ['A', '1']
    except UnicodeDecodeError:  # non-ASCII bytes next to str
        values = np.asarray(y, dtype=object)
    except ValueError:
        return y  # ragged: sklearn's checks say what is wrong
    if values.dtype.kind == "f" and not isinstance(y, np.ndarray):
        # A list of integers may have become floats: look at the values as given.
        values = np.asarray(y, dtype=object)
    if values.dtype != object:
        return y
    exact = _exact_int_labels(values)
    if exact is not None:
        return exact
    values = values.ravel()
    is_str = [isinstance(v, str) for v in values]
    if any(v is None for v in values) or (any(is_str) and not all(is_str)):
        types = sorted({type(v).__name__ for v in values})
        raise TypeError(
            f"y holds labels of types {types}; labels must be all str or all numbers, "
            "without None."
        )
    return y


_INT64_MAX = np.iinfo(np.int64).max


def _exact_int_labels(values):
    """``values`` (an object array) as int64 if every one is an int, else None.

    Raises a ValueError for an int outside the int64 range, which numpy and
    scikit-learn would read as a continuous target or an unknown label type.
    """
    flat = values.ravel()
    if flat.size == 0 or not all(isinstance(v, numbers.Integral) for v in flat):
        return None
    exact = [int(v) for v in flat]
    for v in exact:
        if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
            raise ValueError(
                f"y holds the integer label {v}, which does not fit in a signed 64-bit "
                "integer (-2**63 to 2**63 - 1), as integer labels must. Use str labels "
                "instead, e.g. y = [str(label) for label in y]."
            )
    return np.array(exact, dtype=np.int64).reshape(values.shape)


def _check_class_weight(key, weight):
    """One class_weight value as a float, or a ValueError saying why it cannot be used."""
    shown = key.item() if isinstance(key, np.generic) else key
    if (not isinstance(weight, numbers.Real) or isinstance(weight, (bool, np.bool_))
            or isinstance(weight, str)):
        raise ValueError(
            f"class_weight[{shown!r}] is {type(weight).__name__} ({weight!r:.40}); every "
            f"class weight must be a number, e.g. class_weight={{{shown!r}: 2.0}}."
        )
    w = float(weight)
    if not _FLOAT32_TINY <= w <= _FLOAT32_MAX:  # False for NaN too
        why = ""
        if w == 0:
            why = (" Zero is refused: a batch holding only that class would have a weighted "
                   "mean loss of 0/0, which is undefined. To ignore a class, drop its "
                   "sequences from the training data.")
        elif w < 0:
            why = " A negative weight would reward misclassifying that class."
        elif np.isfinite(w) and w > 0:
            why = (" This one is outside the range of float32 (about 1.2e-38 to 3.4e38), the "
                   "precision the network computes in, where it would become "
                   f"{'infinite' if w > 1 else 'zero'}; rescale all the weights.")
        raise ValueError(
            f"class_weight[{shown!r}] is {w!r}; every class weight must be a finite number "
            f"> 0.{why}"
        )
    return w


_FLOAT32_TINY = float(np.finfo(np.float32).tiny)
_FLOAT32_MAX = float(np.finfo(np.float32).max)
