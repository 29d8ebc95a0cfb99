"""Choose the recurrent cell with GridSearchCV, on plain Python lists.
===================================================================

Searches over the cell type ("rnn", "gru", "lstm") and the direction with
3-fold cross-validation on a slice of the bundled Brown corpus, two fits at
a time, and prints the results table. Each joblib worker gets its share of
the CPU cores (joblib limits the threads of its worker processes), so
``n_jobs=2`` does not oversubscribe a 2-core machine.

Run::

    python examples/grid_search_cells.py     # ~3-4 minutes on 2 CPU cores
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos
from skrnn.metrics import token_accuracy_scorer


def main():
    X, y = load_brown_pos("train")
    X, y = X[:3000], y[:3000]
    X_test, y_test = load_brown_pos("test")

    search = GridSearchCV(
        SequenceTagger(hidden_size=64, dropout=0.3, learning_rate=1e-2, max_epochs=3,
                       random_state=0),
        {"cell": ["rnn", "gru", "lstm"], "bidirectional": [False, True]},
        scoring=token_accuracy_scorer,
        cv=3,
        n_jobs=2,
    )
    with warnings.catch_warnings():
        # A fixed 3-epoch budget is the point of this comparison.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)

    res = search.cv_results_
    print(f"{'cell':>6} {'bidirectional':>14} {'mean acc':>9} {'std':>7} {'fit s':>7}")
    for i in res["rank_test_score"].argsort():
        p = res["params"][i]
        print(f"{p['cell']:>6} {p['bidirectional']!s:>14} {res['mean_test_score'][i]:9.4f} "
              f"{res['std_test_score'][i]:7.4f} {res['mean_fit_time'][i]:7.1f}")
    best = search.best_index_
    margin = res["mean_test_score"][best] - res["std_test_score"][best]
    ties = [res["params"][i] for i in res["rank_test_score"].argsort()
            if i != best and res["mean_test_score"][i] >= margin]
    print(f"\nbest (highest mean): {search.best_params_}; test accuracy of the refitted best "
          f"model: {search.score(X_test, y_test):.4f}")
    if ties:
        print(f"not clearly better: {len(ties)} other setting(s) lie within one standard "
              f"deviation of its mean ({res['std_test_score'][best]:.4f}), so these 3 folds "
              "do not tell them apart: " + "; ".join(map(str, ties)))
    else:
        print("no other setting lies within one standard deviation of its mean")


if __name__ == "__main__":
    main()
