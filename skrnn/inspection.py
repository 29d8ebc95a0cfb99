"""Pictures of fitted models: training curves, attention, per-tag confusion.

The displays follow scikit-learn's conventions (see
:class:`sklearn.metrics.ConfusionMatrixDisplay`): build one with
``from_estimator`` (or ``from_predictions``), which computes what to draw and
calls its ``plot`` method; ``plot(ax=...)`` draws into the axes you pass (a new
figure otherwise) and returns the display, whose ``figure_`` and ``ax_``
hold what was drawn::

    from skrnn.inspection import TrainingCurveDisplay
    display = TrainingCurveDisplay.from_estimator(tagger)
    display.figure_.savefig("curves.png")

matplotlib is imported only inside ``plot`` (``pip install "skrnn[plot]"``):
importing this module, or computing a display's data, does not need it.

- :class:`TrainingCurveDisplay`: the loss per epoch from ``history_``, the
  validation score, the best epoch marked, and the gradient norms.
- :class:`AttentionDisplay`: where a :class:`~skrnn.Seq2Seq` decoder looked
  (input steps x output steps) while writing one output.
- :class:`TagConfusionDisplay`: a per-tag confusion matrix of a
  :class:`~skrnn.SequenceTagger`, over all tokens.
- :class:`EntityReportDisplay`: entity-level precision, recall and F1 per
  entity type, as a bar chart.
"""

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "AttentionDisplay",
    "EntityReportDisplay",
    "TagConfusionDisplay",
    "TrainingCurveDisplay",
]


def _check_matplotlib(caller):
    """Raise an ImportError that says how to install matplotlib when it is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib. Install it with `pip install matplotlib` "
            '(or `pip install "skrnn[plot]"`).') from exc


def _figure_and_axes(ax, **subplots):
    """``(figure, ax)``: the axes given, or one new axes in a new figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(**subplots)
        return fig, ax
    return ax.figure, ax


def _name(estimator):
    return type(estimator).__name__


class TrainingCurveDisplay:
    """Training curves of a fitted estimator: loss, validation score, gradient norms.

    Build it with :meth:`from_estimator`; the constructor takes the numbers
    already extracted, one entry per epoch.

    Parameters
    ----------
    epochs : array-like of shape (n_epochs,)
        Epoch numbers (1 for the first epoch of the first fit).
    train_loss : array-like of shape (n_epochs,)
        Mean training loss of each epoch.
    valid_loss, valid_score : array-like of shape (n_epochs,) or None, default=None
        Loss and score on the held-out validation sequences (early stopping);
        None when the fit did not validate.
    best_epoch : int or None, default=None
        The epoch whose weights the estimator kept (the best validation
        score, or without validation the lowest training loss).
    grad_norm_mean, grad_norm_max : array-like of shape (n_epochs,) or None, default=None
        Mean and largest global gradient L2 norm of each epoch's optimizer
        steps, before clipping (see :func:`skrnn.training.train`).
    clip_norm : float or None, default=None
        The estimator's ``clip_norm``, drawn as a line on the gradient panel.
    diverged_epochs : array-like of int or None, default=None
        Epochs whose loss became non-finite (training stopped there and kept
        the previous epoch's weights), marked with a red cross.
    estimator_name : str or None, default=None
        Shown in the title.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure drawn into.
    ax_ : matplotlib.axes.Axes
        The loss axes.
    ax_score_ : matplotlib.axes.Axes or None
        The twin axes of the validation score (right y axis), or None.
    ax_grad_ : matplotlib.axes.Axes or None
        The gradient-norm axes, or None when they are not drawn.
    lines_ : dict of str to matplotlib.lines.Line2D
        The curves drawn, by name (``"train_loss"``, ``"valid_loss"``,
        ``"valid_score"``, ``"grad_norm_mean"``, ``"grad_norm_max"``).
    best_line_ : matplotlib.lines.Line2D or None
        The vertical line that marks the best epoch.

    See Also
    --------
    AttentionDisplay : Where a sequence-to-sequence decoder looked.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skrnn import SequenceTagger
    >>> from skrnn.inspection import TrainingCurveDisplay
    >>> X = [["a", "b", "c"], ["b", "c", "a"]] * 20
    >>> y = [["A", "B", "C"], ["B", "C", "A"]] * 20
    >>> tagger = SequenceTagger(hidden_size=4, max_epochs=3, early_stopping=True,
    ...                         random_state=0).fit(X, y)  # doctest: +SKIP
    >>> display = TrainingCurveDisplay.from_estimator(tagger)  # doctest: +SKIP
    >>> display.best_epoch  # doctest: +SKIP
    2
    """

    def __init__(self, *, epochs, train_loss, valid_loss=None, valid_score=None,
                 best_epoch=None, grad_norm_mean=None, grad_norm_max=None, clip_norm=None,
                 diverged_epochs=None, estimator_name=None):
        self.epochs = epochs
        self.train_loss = train_loss
        self.valid_loss = valid_loss
        self.valid_score = valid_score
        self.best_epoch = best_epoch
        self.grad_norm_mean = grad_norm_mean
        self.grad_norm_max = grad_norm_max
        self.clip_norm = clip_norm
        self.diverged_epochs = diverged_epochs
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, validation="auto", gradients="auto", ax=None,
                       **kwargs):
        """Read the curves from a fitted estimator's ``history_`` and plot them.

        Parameters
        ----------
        estimator : fitted skrnn estimator
            Any estimator with a ``history_`` (one dict per epoch).
        validation : "auto" or bool, default="auto"
            Draw the validation loss and score. "auto": when they were
            recorded (the estimator was fitted with early stopping). True
            raises a ``ValueError`` if they were not.
        gradients : "auto" or bool, default="auto"
            Draw the gradient norms in a second panel. "auto": when they were
            recorded and ``ax`` is None or holds two axes. True raises a
            ``ValueError`` if they were not recorded.
        ax : matplotlib Axes, pair of Axes or None, default=None
            Where to draw: one axes for the losses, or two (losses, gradient
            norms). None: a new figure.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        check_is_fitted(estimator)
        history = [h for h in getattr(estimator, "history_", None) or () if "train_loss" in h]
        if not history:
            raise ValueError(f"{_name(estimator)} has no training history (history_ is "
                             "empty): there is no curve to draw. Fit it first.")
        has_valid = any("valid_score" in h for h in history)
        if validation is True and not has_valid:
            raise ValueError(
                f"{_name(estimator)}.history_ holds no validation loss or score: the "
                "estimator was fitted without early stopping, so nothing was held out. "
                "Refit with early_stopping=True (validation_fraction sets how much is "
                "held out), or pass validation=False (or 'auto') to draw the training "
                "loss only.")
        has_grad = any("grad_norm_mean" in h for h in history)
        if gradients is True and not has_grad:
            raise ValueError(f"{_name(estimator)}.history_ holds no gradient norms; pass "
                             "gradients=False (or 'auto').")

        def column(key):
            return np.array([h.get(key, np.nan) for h in history], dtype=float)

        best = [h["epoch"] for h in history if h.get("best")]
        use_valid = has_valid and validation is not False
        display = cls(
            epochs=np.array([h["epoch"] for h in history]),
            train_loss=column("train_loss"),
            valid_loss=column("valid_loss") if use_valid else None,
            valid_score=column("valid_score") if use_valid else None,
            best_epoch=best[-1] if best else None,
            grad_norm_mean=column("grad_norm_mean") if has_grad else None,
            grad_norm_max=column("grad_norm_max") if has_grad else None,
            clip_norm=getattr(estimator, "clip_norm", None),
            diverged_epochs=[h["epoch"] for h in history if h.get("diverged")] or None,
            estimator_name=_name(estimator),
        )
        return display.plot(ax=ax, gradients=gradients if has_grad else False, **kwargs)

    def plot(self, ax=None, *, gradients="auto", title=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, pair of Axes or None, default=None
            One axes: the losses (and the validation score on a twin y axis)
            only, unless ``gradients=True``, which needs two. Two axes
            (a sequence): losses in the first, gradient norms in the second.
            None: a new figure, with a gradient panel below the losses when
            there are norms to draw.
        gradients : "auto" or bool, default="auto"
            Draw the gradient norms (log scale). "auto": when they are known
            and there is a second axes for them (or ``ax`` is None).
        title : bool or str, default=True
            True: the estimator's name; a str: that title; False: none.

        Returns
        -------
        display : TrainingCurveDisplay
        """
        _check_matplotlib("TrainingCurveDisplay.plot")
        import matplotlib.pyplot as plt

        known = self.grad_norm_mean is not None
        if gradients is True and not known:
            raise ValueError("No gradient norms to draw: this display has none; pass "
                             "gradients=False.")
        axes = None if ax is None else (list(ax) if np.iterable(ax) else [ax])
        if axes is not None and len(axes) not in (1, 2):
            raise ValueError(f"ax must be one matplotlib Axes or two, got {len(axes)}.")
        if gradients is True and axes is not None and len(axes) == 1:
            raise ValueError("gradients=True draws a second panel: pass ax=(loss_ax, "
                             "grad_ax), or ax=None for a new figure.")
        draw_grad = known and gradients is not False and (axes is None or len(axes) == 2)
        if axes is None:
            if draw_grad:
                fig, axes = plt.subplots(2, 1, sharex=True, figsize=(6.4, 6.0),
                                         height_ratios=(3, 2), layout="constrained")
                axes = list(axes)
            else:
                fig, loss_ax = plt.subplots(layout="constrained")
                axes = [loss_ax]
        fig = axes[0].figure
        ax_loss = axes[0]
        epochs = np.asarray(self.epochs)
        self.lines_ = {}
        (self.lines_["train_loss"],) = ax_loss.plot(epochs, self.train_loss, marker="o",
                                                    markersize=3, label="training loss")
        if self.valid_loss is not None:
            (self.lines_["valid_loss"],) = ax_loss.plot(
                epochs, self.valid_loss, marker="o", markersize=3, label="validation loss")
        ax_loss.set_ylabel("loss")
        handles = list(self.lines_.values())
        self.ax_score_ = None
        if self.valid_score is not None:
            self.ax_score_ = ax_loss.twinx()
            (self.lines_["valid_score"],) = self.ax_score_.plot(
                epochs, self.valid_score, color="C2", marker="s", markersize=3,
                linestyle="--", label="validation score")
            self.ax_score_.set_ylabel("validation score")
            handles.append(self.lines_["valid_score"])
        self.best_line_ = None
        if self.best_epoch is not None:
            self.best_line_ = ax_loss.axvline(
                self.best_epoch, color="0.3", linestyle=":", linewidth=1.2,
                label=f"best epoch ({self.best_epoch})")
            handles.append(self.best_line_)
        if self.diverged_epochs:
            (diverged,) = ax_loss.plot(
                self.diverged_epochs, [0.02] * len(self.diverged_epochs), "x", color="red",
                markersize=9, markeredgewidth=2, transform=ax_loss.get_xaxis_transform(),
                clip_on=False, label="diverged (non-finite loss)")
            handles.append(diverged)
        ax_loss.legend(handles=handles, loc="center right", fontsize="small", framealpha=0.85)
        ax_loss.grid(alpha=0.3)
        self.ax_grad_ = None
        if draw_grad:
            ax_grad = axes[1]
            (self.lines_["grad_norm_mean"],) = ax_grad.plot(
                epochs, self.grad_norm_mean, marker="o", markersize=3, color="C3",
                label="gradient norm, mean")
            (self.lines_["grad_norm_max"],) = ax_grad.plot(
                epochs, self.grad_norm_max, marker="^", markersize=3, color="C3",
                linestyle="--", alpha=0.7, label="gradient norm, max")
            if self.clip_norm is not None:
                ax_grad.axhline(self.clip_norm, color="0.5", linestyle="-.", linewidth=1,
                                label=f"clip_norm ({self.clip_norm:g})")
            finite = np.asarray(self.grad_norm_max, dtype=float)
            if np.any(np.isfinite(finite) & (finite > 0)):
                ax_grad.set_yscale("log")
            if self.best_epoch is not None:
                ax_grad.axvline(self.best_epoch, color="0.3", linestyle=":", linewidth=1.2)
            ax_grad.set_ylabel("gradient L2 norm")
            ax_grad.set_xlabel("epoch")
            ax_grad.legend(loc="best", fontsize="small")
            ax_grad.grid(alpha=0.3)
            self.ax_grad_ = ax_grad
        else:
            ax_loss.set_xlabel("epoch")
        if len(epochs) and np.all(np.equal(np.mod(epochs, 1), 0)) and len(epochs) <= 20:
            ax_loss.set_xticks(epochs)
        if title:
            ax_loss.set_title(title if isinstance(title, str)
                              else f"{self.estimator_name or 'estimator'}: training curves")
        self.ax_ = ax_loss
        self.figure_ = fig
        return self


class AttentionDisplay:
    """Attention heat-map of a :class:`~skrnn.Seq2Seq`: input steps x output steps.

    Row t shows how the decoder spread its attention over the input steps
    when it wrote output token t (each row sums to 1). Build it with
    :meth:`from_estimator`, which asks the model for the weights
    (:meth:`skrnn.Seq2Seq.attention_weights`); it does not decode itself.

    Parameters
    ----------
    attention : ndarray of shape (n_output_steps, n_input_steps)
        The weights.
    input_labels : list of str
        One label per input step (the characters or tokens read).
    output_labels : list of str
        One label per output step (the tokens written).

    Attributes
    ----------
    im_ : matplotlib.image.AxesImage
        The heat-map.
    colorbar_ : matplotlib.colorbar.Colorbar or None
        Its colour bar.
    figure_ : matplotlib.figure.Figure
        The figure drawn into.
    ax_ : matplotlib.axes.Axes
        The axes drawn into.

    See Also
    --------
    skrnn.Seq2Seq.attention_weights : The weights of many pairs at once.
    """

    def __init__(self, attention, *, input_labels, output_labels):
        self.attention = attention
        self.input_labels = input_labels
        self.output_labels = output_labels

    @classmethod
    def from_estimator(cls, estimator, x, y=None, *, ax=None, **kwargs):
        """Attention of a fitted ``Seq2Seq`` on one input, and its heat-map.

        Parameters
        ----------
        estimator : fitted Seq2Seq
            Fitted with ``attention="luong"`` or ``"bahdanau"``.
        x : str, sequence of str or ndarray of shape (n_steps, n_features)
            One input, as one element of the X the model was fitted on.
        y : str, sequence of str or None, default=None
            The output to explain (teacher forcing); None: the model's own
            prediction for ``x`` (as ``predict`` gives it).
        ax : matplotlib Axes or None, default=None
            Where to draw; None: a new figure.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : AttentionDisplay
        """
        check_is_fitted(estimator)
        if not hasattr(estimator, "attention_weights"):
            raise TypeError(f"AttentionDisplay needs a Seq2Seq model, got {_name(estimator)}.")
        if y is None:
            y = estimator.predict([x])[0]
        attention = np.asarray(estimator.attention_weights([x], [y])[0])
        if isinstance(x, str):
            inputs = list(x)
        elif isinstance(x, np.ndarray) and x.dtype.kind in "fiub":
            inputs = [str(i) for i in range(len(x))]
        else:
            inputs = [str(t) for t in x]
        outputs = list(y) if isinstance(y, str) else [str(t) for t in y]
        display = cls(attention, input_labels=inputs, output_labels=outputs)
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, cmap="Blues", colorbar=True, title=None, xlabel="input step",
             ylabel="output step"):
        """Draw the heat-map.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None: a new figure sized to the sequences.
        cmap : str or matplotlib Colormap, default="Blues"
            The colour map, from 0 to 1.
        colorbar : bool, default=True
            Draw a colour bar.
        title : str or None, default=None
            None: ``"input -> output"``.
        xlabel, ylabel : str
            Axis labels.

        Returns
        -------
        display : AttentionDisplay
        """
        _check_matplotlib("AttentionDisplay.plot")
        weights = np.asarray(self.attention)
        n_out, n_in = weights.shape
        if (n_out, n_in) != (len(self.output_labels), len(self.input_labels)):
            raise ValueError(f"attention has shape {weights.shape}, but there are "
                             f"{len(self.output_labels)} output and {len(self.input_labels)} "
                             "input labels.")
        fig, ax = _figure_and_axes(
            ax, figsize=(min(0.42 * n_in + 2.5, 16), min(0.36 * n_out + 1.8, 14)),
            layout="constrained")
        self.im_ = ax.imshow(weights, cmap=cmap, vmin=0, vmax=1, aspect="auto",
                             interpolation="nearest")
        ax.set_xticks(range(n_in), self.input_labels)
        ax.set_yticks(range(n_out), self.output_labels)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title is None:
            sep = "" if all(len(t) == 1 for t in self.input_labels) else " "
            out_sep = "" if all(len(t) == 1 for t in self.output_labels) else " "
            title = f"{sep.join(self.input_labels)} -> {out_sep.join(self.output_labels)}"
        ax.set_title(title)
        self.colorbar_ = fig.colorbar(self.im_, ax=ax, label="attention") if colorbar else None
        self.figure_, self.ax_ = fig, ax
        return self


def _flatten(y_true, y_pred):
    """Every token's (true, predicted) label, checked to line up sequence by sequence."""
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true holds {len(y_true)} sequences and y_pred {len(y_pred)}.")
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        if len(t) != len(p):
            raise ValueError(f"Sequence {i} has {len(t)} true and {len(p)} predicted labels.")
    flat_true = np.array([label for seq in y_true for label in seq])
    flat_pred = np.array([label for seq in y_pred for label in seq])
    return flat_true, flat_pred


class TagConfusionDisplay(ConfusionMatrixDisplay):
    """Per-tag confusion matrix of a sequence tagger, over all tokens.

    A :class:`sklearn.metrics.ConfusionMatrixDisplay` whose constructors take
    sequences: the labels of every token of every sequence are counted
    together (row: true tag, column: predicted tag). All of
    ``ConfusionMatrixDisplay``'s options (``normalize``, ``labels``,
    ``include_values``, ``cmap``, ``xticks_rotation``, ``ax``, ...) apply.

    Parameters
    ----------
    confusion_matrix : ndarray of shape (n_tags, n_tags)
        The counts (or rates).
    display_labels : ndarray of shape (n_tags,) or None, default=None
        The tags, in the matrix's order.

    Attributes
    ----------
    im_ : matplotlib.image.AxesImage
        The matrix image.
    text_ : ndarray of matplotlib.text.Text or None
        The numbers written in the cells.
    figure_ : matplotlib.figure.Figure
        The figure drawn into.
    ax_ : matplotlib.axes.Axes
        The axes drawn into.

    See Also
    --------
    skrnn.metrics.flat_classification_report : The same comparison as a text report.
    EntityReportDisplay : Entity-level scores of IOB / BIOES tags.
    """

    @classmethod
    def from_estimator(cls, estimator, X, y, *, labels=None, **kwargs):
        """Predict ``X`` with a fitted tagger and plot the confusion of its tags.

        Parameters
        ----------
        estimator : fitted SequenceTagger
            Anything whose ``predict`` returns one label sequence per input.
        X : list of sequences
            The inputs, as for ``estimator.predict``.
        y : list of sequences of labels
            The true labels, one sequence per input, of its length.
        labels : array-like or None, default=None
            Tags to show, in this order; None: every tag that occurs in ``y``
            or in the predictions.
        **kwargs : dict
            Passed to :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_predictions`
            (``normalize``, ``ax``, ``cmap``, ``xticks_rotation``, ...).

        Returns
        -------
        display : TagConfusionDisplay
        """
        check_is_fitted(estimator)
        return cls.from_predictions(y, estimator.predict(X), labels=labels, **kwargs)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, labels=None, **kwargs):
        """Plot the per-tag confusion of true and predicted label sequences.

        Parameters
        ----------
        y_true, y_pred : list of sequences of labels
            One sequence per input; each pair of the same length.
        labels : array-like or None, default=None
            Tags to show, in this order; None: every tag that occurs.
        **kwargs : dict
            Passed to :meth:`sklearn.metrics.ConfusionMatrixDisplay.from_predictions`.

        Returns
        -------
        display : TagConfusionDisplay
        """
        _check_matplotlib("TagConfusionDisplay.from_predictions")
        flat_true, flat_pred = _flatten(y_true, y_pred)
        kwargs.setdefault("xticks_rotation", "vertical")
        kwargs.setdefault("colorbar", False)
        return super().from_predictions(flat_true, flat_pred, labels=labels, **kwargs)


class EntityReportDisplay:
    """Entity-level precision, recall and F1 per entity type, as grouped bars.

    Entities are chunks of IOB1 / IOB2 / BIOES tags, counted as
    :func:`skrnn.metrics.entity_classification_report` counts them (a
    predicted entity is right only if its type and both its ends are).

    Parameters
    ----------
    report : dict
        ``entity_classification_report(..., output_dict=True)``: per entity
        type (and the averages) a dict with ``precision``, ``recall``,
        ``f1-score`` and ``support``.

    Attributes
    ----------
    bars_ : dict of str to matplotlib.container.BarContainer
        The bars of each metric.
    figure_ : matplotlib.figure.Figure
        The figure drawn into.
    ax_ : matplotlib.axes.Axes
        The axes drawn into.

    See Also
    --------
    TagConfusionDisplay : The confusion of the tags themselves.
    """

    def __init__(self, report):
        self.report = report

    @classmethod
    def from_estimator(cls, estimator, X, y, *, mode="conlleval", scheme="IOB2", ax=None,
                       **kwargs):
        """Predict ``X`` with a fitted tagger and draw its entity-level scores.

        Parameters
        ----------
        estimator : fitted SequenceTagger
            A tagger of entity (or chunk) tags.
        X : list of sequences
            The inputs.
        y : list of sequences of labels
            The true tags.
        mode : {"conlleval", "strict"}, default="conlleval"
            How chunks are read; see :func:`skrnn.metrics.get_entities`.
        scheme : {"IOB2", "IOB1", "BIOES"}, default="IOB2"
            The tagging scheme of the labels.
        ax : matplotlib Axes or None, default=None
            Where to draw; None: a new figure.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : EntityReportDisplay
        """
        check_is_fitted(estimator)
        return cls.from_predictions(y, estimator.predict(X), mode=mode, scheme=scheme, ax=ax,
                                    **kwargs)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, mode="conlleval", scheme="IOB2", ax=None,
                         **kwargs):
        """Draw the entity-level scores of true and predicted tag sequences.

        Parameters
        ----------
        y_true, y_pred : list of sequences of labels
            One sequence of tags per input; each pair of the same length.
        mode : {"conlleval", "strict"}, default="conlleval"
            How chunks are read; see :func:`skrnn.metrics.get_entities`.
        scheme : {"IOB2", "IOB1", "BIOES"}, default="IOB2"
            The tagging scheme of the labels.
        ax : matplotlib Axes or None, default=None
            Where to draw; None: a new figure.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : EntityReportDisplay
        """
        from .metrics import entity_classification_report

        report = entity_classification_report(y_true, y_pred, mode=mode, scheme=scheme,
                                              output_dict=True)
        return cls(report).plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, averages=("micro avg",), title="Entity-level scores"):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None: a new figure.
        averages : sequence of str, default=("micro avg",)
            Which average rows of the report to add after the entity types
            (``"micro avg"``, ``"macro avg"``, ``"weighted avg"``).
        title : str or None, default="Entity-level scores"
            The axes' title.

        Returns
        -------
        display : EntityReportDisplay
        """
        _check_matplotlib("EntityReportDisplay.plot")
        rows = [k for k in self.report if not k.endswith(" avg")]
        rows += [k for k in averages if k in self.report]
        fig, ax = _figure_and_axes(ax, figsize=(max(4.0, 1.1 * len(rows) + 3), 3.8),
                                   layout="constrained")
        x = np.arange(len(rows))
        width = 0.27
        self.bars_ = {}
        for i, metric in enumerate(("precision", "recall", "f1-score")):
            values = [self.report[r][metric] for r in rows]
            self.bars_[metric] = ax.bar(x + (i - 1) * width, values, width, label=metric)
            ax.bar_label(self.bars_[metric], fmt="%.2f", fontsize="x-small", padding=1)
        labels = [f"{r}\n(n={int(self.report[r]['support'])})" for r in rows]
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("score")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
        ax.grid(axis="y", alpha=0.3)
        if title:
            ax.set_title(title)
        self.figure_, self.ax_ = fig, ax
        return self
