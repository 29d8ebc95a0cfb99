"""The ``solver`` / ``momentum`` parameters and the learning-rate schedules.

Unit tests of :func:`skrnn.training.scheduled_rate` (the rule), then the
estimators: the recorded ``lr`` of every epoch follows it through ``fit``,
``partial_fit``, a solver switch, pickling and ``save`` / ``load``.
"""

import pickle

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, toy_tagging_data
from sklearn.utils._param_validation import InvalidParameterError

import skrnn
from skrnn.training import make_optimizer, scheduled_rate, train


def _records(*values, key="valid_score"):
    return [{"epoch": i + 1, "train_loss": 1.0, key: v} for i, v in enumerate(values)]


def test_constant_ignores_history():
    assert scheduled_rate("constant", 0.1, _records(1, 0, 0, 0)) == 0.1


def test_step_keeps_the_rate_then_decays_every_epoch():
    """Zaremba et al.'s recipe: 4 epochs at the rate, then halved every epoch."""
    rates = [scheduled_rate("step", 1.0, _records(*range(n)), decay_after=4)
             for n in range(7)]
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]


def test_step_from_the_first_epoch():
    assert scheduled_rate("step", 1.0, [], decay_after=0, decay=0.1) == pytest.approx(0.1)


def test_plateau_decays_after_patience_epochs_without_improvement():
    history = _records(0.5, 0.6, 0.6, 0.55, 0.7, 0.69, 0.68, 0.67)
    # Epoch 3 and 4 fail (patience 2): decay; epoch 5 improves; 6 and 7 fail:
    # decay; epoch 8 fails once more (counter restarted): no decay yet.
    assert scheduled_rate("plateau", 1.0, history, patience=2) == pytest.approx(0.25)
    assert scheduled_rate("plateau", 1.0, history[:4], patience=2) == pytest.approx(0.5)
    assert scheduled_rate("plateau", 1.0, history[:3], patience=2) == pytest.approx(1.0)


def test_plateau_needs_more_than_tol_and_watches_the_training_loss_without_validation():
    history = [{"epoch": i + 1, "train_loss": loss} for i, loss in enumerate([2.0, 1.99995, 1.0])]
    # The second epoch improves the loss by 5e-5 < tol: one bad epoch.
    assert scheduled_rate("plateau", 1.0, history[:2], patience=1, tol=1e-4) == 0.5
    assert scheduled_rate("plateau", 1.0, history, patience=1, tol=1e-4) == 0.5


def test_plateau_skips_diverged_epochs():
    history = _records(0.5) + [{"epoch": 2, "train_loss": float("nan"), "diverged": True}]
    assert scheduled_rate("plateau", 1.0, history, patience=1) == 1.0


def test_unknown_schedule_and_solver_are_refused():
    with pytest.raises(ValueError, match="lr_schedule"):
        scheduled_rate("cosine", 1.0, [])
    with pytest.raises(ValueError, match="solver"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], 1.0, solver="rmsprop")


def test_sgd_with_momentum():
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(1))], 0.5, solver="sgd", momentum=0.8)
    assert isinstance(opt, torch.optim.SGD)
    assert opt.param_groups[0]["momentum"] == 0.8
    assert opt.param_groups[0]["lr"] == 0.5


def test_train_sets_and_records_the_scheduled_rate():
    """train() asks the schedule before every epoch and records each epoch's rate."""
    w = torch.nn.Parameter(torch.zeros(1))
    module = torch.nn.Module()
    module.w = w
    opt = torch.optim.SGD(module.parameters(), lr=123.0)
    seen = []

    def schedule(history):
        seen.append(len(history))
        return 1.0 / (len(history) + 1)

    result = train(module, opt, lambda epoch: [None], lambda m, b: (((m.w - 1) ** 2).sum(), 1),
                   max_epochs=3, check_convergence=False, learning_rate=schedule)
    assert seen == [0, 1, 2]
    assert [r["lr"] for r in result.history] == pytest.approx([1.0, 0.5, 1 / 3])


# -- estimators ---------------------------------------------------------------

def _tagger(**kw):
    params = dict(hidden_size=8, embedding_dim=8, max_epochs=4, early_stopping=False,
                  random_state=0, batch_size=8)
    params.update(kw)
    return skrnn.SequenceTagger(**params)


def test_estimators_record_the_step_schedule():
    X, y = toy_tagging_data(40)
    est = quiet_fit(_tagger(learning_rate=0.01, lr_schedule="step", lr_decay_after=1,
                            lr_decay=0.5), X, y)
    assert [r["lr"] for r in est.history_] == pytest.approx([0.01, 0.005, 0.0025, 0.00125])


def test_constant_schedule_records_the_rate():
    X, y = toy_tagging_data(40)
    est = quiet_fit(_tagger(learning_rate=0.02, max_epochs=2), X, y)
    assert [r["lr"] for r in est.history_] == [0.02, 0.02]


def test_partial_fit_continues_the_schedule():
    X, y = toy_tagging_data(40)
    est = quiet_fit(_tagger(learning_rate=0.01, lr_schedule="step", lr_decay_after=1,
                            max_epochs=2), X, y)
    quiet_partial_fit(est, X, y)
    quiet_partial_fit(est, X, y)
    assert [r["lr"] for r in est.history_] == pytest.approx([0.01, 0.005, 0.0025, 0.00125])


def test_plateau_schedule_follows_the_validation_score():
    """Every recorded rate is the rule applied to the epochs before it."""
    X, y = toy_tagging_data(200)
    est = quiet_fit(_tagger(learning_rate=0.05, lr_schedule="plateau", lr_patience=1,
                            early_stopping=True, n_iter_no_change=6, max_epochs=8,
                            tol=0.02), X, y)
    rates = [r["lr"] for r in est.history_]
    expected = [scheduled_rate("plateau", 0.05, est.history_[:i], patience=1, tol=0.02)
                for i in range(len(est.history_))]
    assert rates == pytest.approx(expected)
    assert min(rates) < 0.05  # a toy task plateaus within 8 epochs at tol 0.02


def test_sgd_learns_the_toy_task():
    """SGD with momentum beats the most-frequent-tag baseline (1/3 here)."""
    X, y = toy_tagging_data(120)
    est = quiet_fit(_tagger(solver="sgd", learning_rate=0.5, momentum=0.9, max_epochs=15), X, y)
    assert isinstance(est.optimizer_, torch.optim.SGD)
    assert est.score(X, y) > 0.9


def test_switching_solver_between_partial_fits_starts_fresh():
    X, y = toy_tagging_data(40)
    est = quiet_fit(_tagger(max_epochs=1), X, y)
    assert isinstance(est.optimizer_, torch.optim.Adam)
    est.set_params(solver="sgd", learning_rate=0.1, momentum=0.5)
    quiet_partial_fit(est, X, y)
    assert isinstance(est.optimizer_, torch.optim.SGD)
    assert est.optimizer_.param_groups[0]["momentum"] == 0.5
    assert est.history_[-1]["lr"] == 0.1


def test_solver_survives_pickle_and_save_load(tmp_path):
    X, y = toy_tagging_data(40)
    est = quiet_fit(_tagger(solver="sgd", learning_rate=0.1, momentum=0.3, max_epochs=2,
                            lr_schedule="step", lr_decay_after=1), X, y)
    for copy in (pickle.loads(pickle.dumps(est)), skrnn.load(_saved(est, tmp_path))):
        assert isinstance(copy.optimizer_, torch.optim.SGD)
        assert copy.optimizer_.param_groups[0]["momentum"] == 0.3
        quiet_partial_fit(copy, X, y)
        assert copy.history_[-1]["lr"] == pytest.approx(0.1 * 0.5 ** 2)


def _saved(est, tmp_path):
    path = tmp_path / "model.skrnn"
    est.save(path)
    return path


@pytest.mark.parametrize("params", [dict(solver="rmsprop"), dict(momentum=1.5),
                                    dict(lr_schedule="cosine"), dict(lr_decay=1.0),
                                    dict(lr_patience=0), dict(lr_decay_after=-1)])
def test_invalid_settings_are_refused_at_fit(params):
    X, y = toy_tagging_data(10)
    with pytest.raises(InvalidParameterError):
        _tagger(**params).fit(X, y)


@pytest.mark.parametrize("cls", [skrnn.SequenceTagger, skrnn.LanguageModel,
                                 skrnn.SequenceClassifier, skrnn.SequenceRegressor,
                                 skrnn.Seq2Seq])
def test_every_estimator_has_the_settings(cls):
    params = cls().get_params()
    assert {"solver", "momentum", "lr_schedule", "lr_decay", "lr_patience",
            "lr_decay_after"} <= set(params)
    assert params["solver"] == "adam" and params["lr_schedule"] == "constant"


def test_language_model_with_sgd_and_step_schedule_learns():
    """Word streams of a repeating pattern: SGD with a step decay beats the uniform model."""
    rng = np.random.RandomState(0)
    words = ["a", "b", "c", "d", "e"]
    X = [[words[(i + s) % 5] for i in range(rng.randint(8, 16))] for s in range(60)]
    est = quiet_fit(skrnn.LanguageModel(hidden_size=16, embedding_dim=8, num_layers=1,
                                        window_length=8, batch_size=8, max_epochs=6,
                                        early_stopping=False, random_state=0, dropout=0.0,
                                        solver="sgd", learning_rate=2.0, momentum=0.0,
                                        clip_norm=0.5, lr_schedule="step",
                                        lr_decay_after=3), X)
    assert [r["lr"] for r in est.history_][-1] == pytest.approx(2.0 * 0.5 ** 3)
    uniform = -np.log(len(est.vocabulary_))
    assert est.score(X) > uniform + 0.5
