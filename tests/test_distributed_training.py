"""Data-parallel training under torchrun (2 CPU processes, gloo) matches one process.

The test launches this file with ``python -m torch.distributed.run
--standalone --nproc_per_node=2 tests/test_distributed_training.py OUT``:
in that mode it fits every case below on both ranks, records a digest of
the parameters after every optimiser step and writes what it saw to OUT.
The tests compare the ranks with each other and with a single-process fit
of the same case in the pytest process.
"""

import hashlib
import os
import pickle
import subprocess
import sys

# As in conftest.py (spinning OpenMP threads slow oneDNN's RNNs on busy cores), repeated
# here because torchrun's workers run this file as a script: conftest.py is not loaded there.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pytest
import torch
from _helpers import quiet_fit, quiet_partial_fit, random_series, weights
from torch.optim.optimizer import register_optimizer_step_post_hook

from skrnn import LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger
from skrnn import distributed as skdist
from skrnn.data import Batch

_SMALL = dict(hidden_size=8, embedding_dim=8, dropout=0.0, random_state=0, device="cpu")


def _tokens(n, seed=0):
    rng = np.random.RandomState(seed)
    words = ["the", "a", "dog", "cat", "runs", "eats", "fish", "zebra"]
    X = [[words[i] for i in rng.randint(len(words), size=rng.randint(2, 7))] for _ in range(n)]
    y = [["N" if len(w) > 3 else "D" for w in s] for s in X]
    return X, y


def _case_tagger():
    # 13 sequences, batch_size 3: rows split 2 / 1 and the last batch has a
    # single row, so one rank trains on a stand-in row of weight 0.
    X, y = _tokens(13)
    est = SequenceTagger(char_embedding_dim=4, char_filters=4, batch_size=3, max_epochs=2,
                         clip_norm=0.5, early_stopping=False, **_SMALL)
    return est, X, y


def _case_tagger_early_stopping():
    X, y = _tokens(30, seed=1)
    est = SequenceTagger(char_embedding_dim=None, batch_size=4, max_epochs=4,
                         early_stopping=True, validation_fraction=0.3, n_iter_no_change=1,
                         tol=0.5, **_SMALL)
    return est, X, y


def _case_classifier():
    # One validation sequence: one rank's validation shard is empty.
    X, _ = _tokens(15, seed=2)
    y = np.array([len(s) % 3 for s in X])
    est = SequenceClassifier(char_embedding_dim=None, class_weight="balanced", batch_size=4,
                             max_epochs=2, early_stopping=True, validation_fraction=0.07,
                             **_SMALL)
    return est, X, y


def _case_regressor():
    X = random_series(11, seed=3, min_length=3, max_length=7)
    y = np.stack([[s.sum(), s[:, 0].mean()] for s in X])
    est = SequenceRegressor(batch_size=3, max_epochs=2, early_stopping=True,
                            validation_fraction=0.3, **_SMALL)
    return est, X, y


def _case_language_model():
    X = ["abcab", "bca", "cabcab", "ab", "abc", "cba", "bb"]
    est = LanguageModel(num_layers=1, batch_size=3, max_epochs=2, window_length=20,
                        early_stopping=True, validation_fraction=0.3, **_SMALL)
    return est, X, None


def _case_language_model_stream():
    # window_length 4 streams the long sequences with the state carried
    # across windows; the short ones train in ordinary batches.
    X = ["abcabcabcab", "cab", "bcabcabca", "ab", "cabcabcabcabc"]
    est = LanguageModel(num_layers=1, batch_size=3, max_epochs=2, window_length=4,
                        early_stopping=False, **_SMALL)
    return est, X, None


class _TaggerValidatedOnRankZero(SequenceTagger):
    """A tagger without sharded validation (as a third-party estimator might be)."""

    _validation_combine = None

    def _validation_score(self, module, data):
        return SequenceTagger._validation_combine(self, [self._validation_partial(module, data)])


def _case_tagger_rank0_validation():
    est, X, y = _case_tagger_early_stopping()
    return _TaggerValidatedOnRankZero(**est.get_params()), X, y


def _case_tagger_partial_fit():
    X, y = _tokens(9, seed=4)
    est = SequenceTagger(char_embedding_dim=None, batch_size=4, **_SMALL)
    return est, X, y


def _case_tagger_unseeded():
    # random_state=None: rank 0's random state is broadcast to the others.
    X, y = _tokens(9, seed=5)
    est = SequenceTagger(char_embedding_dim=None, batch_size=4, max_epochs=2,
                         early_stopping=False, **{**_SMALL, "random_state": None})
    return est, X, y


def _case_tagger_peephole():
    # The peephole LSTM has no fused torch layer (its own autograd Function):
    # DistributedDataParallel must average its gradients as any other layer's.
    X, y = _tokens(13, seed=6)
    est = SequenceTagger("peephole", num_layers=2, char_embedding_dim=None, batch_size=3,
                         max_epochs=2, early_stopping=False, **_SMALL)
    return est, X, y


def _case_language_model_stream_peephole():
    est, X, _ = _case_language_model_stream()
    return est.set_params(cell="peephole"), X, None


def _case_tagger_crf():
    # The CRF's transition scores live outside the network's forward (in the loss):
    # their gradients must be averaged across ranks all the same.
    X, _ = _tokens(11, seed=7)
    y = [["B-N" if len(w) > 3 else "O" for w in s] for s in X]
    est = SequenceTagger(char_embedding_dim=None, batch_size=3, max_epochs=2, crf=True,
                         early_stopping=False, **_SMALL)
    return est, X, y


def _case_seq2seq():
    # Outputs of another length than the inputs (reversed and doubled); early stopping
    # validates on every rank's shard.
    X = ["ab", "abc", "ba", "cab", "bca", "a", "cc", "abca", "bb", "cabb", "acb", "ca", "b"]
    y = [s[::-1] * 2 for s in X]
    est = Seq2Seq(batch_size=3, max_epochs=2, early_stopping=True, validation_fraction=0.3,
                  **_SMALL)
    return est, X, y


CASES = {
    "tagger": _case_tagger,
    "seq2seq": _case_seq2seq,
    "tagger_crf": _case_tagger_crf,
    "tagger_peephole": _case_tagger_peephole,
    "language_model_stream_peephole": _case_language_model_stream_peephole,
    "tagger_early_stopping": _case_tagger_early_stopping,
    "classifier": _case_classifier,
    "regressor": _case_regressor,
    "language_model": _case_language_model,
    "language_model_stream": _case_language_model_stream,
    "tagger_rank0_validation": _case_tagger_rank0_validation,
    "tagger_partial_fit": _case_tagger_partial_fit,
    "tagger_unseeded": _case_tagger_unseeded,
}
#: Cases whose single-process fit differs by design (unseeded).
NOT_REPRODUCIBLE = {"tagger_unseeded"}


class _StepRecorder:
    """Digest of all parameters after every optimiser step (any optimiser)."""

    def __init__(self):
        self.digests, self.sums = [], []
        # A global hook: remove it when done (see ``single``).
        self.handle = register_optimizer_step_post_hook(self)

    def __call__(self, optimizer, args, kwargs):
        params = [p.detach().cpu().numpy() for g in optimizer.param_groups for p in g["params"]]
        h = hashlib.sha1()
        for p in params:
            h.update(np.ascontiguousarray(p).tobytes())
        self.digests.append(h.hexdigest())
        self.sums.append(float(sum(p.astype(np.float64).sum() for p in params)))


def _fit_case(name, recorder):
    est, X, y = CASES[name]()
    start = len(recorder.digests)
    if name.endswith("partial_fit"):
        for _ in range(2):
            quiet_partial_fit(est, X, y)
    else:
        quiet_fit(est, X, y)
    return {
        "digests": recorder.digests[start:],
        "sums": recorder.sums[start:],
        "state": {k: v.numpy() for k, v in weights(est).items()},
        "train_loss": [h["train_loss"] for h in est.history_],
        "n_steps": [h.get("n_steps") for h in est.history_],
        "valid_score": [h.get("valid_score") for h in est.history_],
        "n_iter": est.n_iter_,
    }


def _worker(out_dir):
    """Run every case on this rank and write what it saw (torchrun entry point)."""
    recorder = _StepRecorder()
    results = {name: _fit_case(name, recorder) for name in CASES}
    rank = int(os.environ["RANK"])
    # Ranks passing different data must all fail with the same clear error.
    X, y = _tokens(8, seed=10 + rank)
    try:
        SequenceTagger(max_epochs=1, **_SMALL).fit(X, y)
        results["different_data_error"] = None
    except ValueError as exc:
        results["different_data_error"] = str(exc)
    # single_process() opts out: a fit on one rank alone must not wait for the others.
    if rank == 1:
        with skdist.single_process():
            SequenceTagger(max_epochs=1, **_SMALL).fit(*_tokens(5))
    results["world_size"] = torch.distributed.get_world_size()
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(results, f)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What both ranks of one 2-process torchrun launch saw, rank by rank."""
    out = tmp_path_factory.mktemp("ddp")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env.update(OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           os.path.abspath(__file__), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = []
    for r in range(2):
        with open(out / f"rank{r}.pkl", "rb") as f:
            result.append(pickle.load(f))
    return result


@pytest.fixture(scope="module")
def single():
    """Single-process fits of every case, in this (non-distributed) process."""
    assert not skdist.is_distributed()
    recorder = _StepRecorder()
    try:
        return {name: _fit_case(name, recorder) for name in CASES}
    finally:
        recorder.handle.remove()


def test_launch_ran_two_ranks(ranks):
    """The torchrun launch ran with a world of two processes."""
    assert [r["world_size"] for r in ranks] == [2, 2]


@pytest.mark.parametrize("name", list(CASES))
def test_ranks_hold_identical_weights_after_every_step(ranks, name):
    """After every optimiser step both ranks hold bit-identical parameters."""
    a, b = ranks[0][name]["digests"], ranks[1][name]["digests"]
    assert len(a) > 0
    assert a == b


@pytest.mark.parametrize("name", [c for c in CASES if c not in NOT_REPRODUCIBLE])
def test_matches_single_process_training(ranks, single, name):
    """Two ranks train like one process on the same global batches (dropout 0)."""
    dist_run, ref = ranks[0][name], single[name]
    assert dist_run["n_iter"] == ref["n_iter"]
    assert len(dist_run["digests"]) == len(ref["digests"])
    np.testing.assert_allclose(dist_run["sums"], ref["sums"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dist_run["train_loss"], ref["train_loss"], rtol=1e-5)
    assert dist_run["n_steps"] == ref["n_steps"]
    assert dist_run["state"].keys() == ref["state"].keys()
    for key, value in ref["state"].items():
        np.testing.assert_allclose(dist_run["state"][key], value, rtol=1e-5, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize("name", ["tagger_early_stopping", "tagger_rank0_validation",
                                  "classifier", "regressor", "language_model"])
def test_validation_scores_agree(ranks, single, name):
    """Validation scores agree on every rank and with one process (sharded or on rank 0)."""
    runs = [r[name] for r in ranks]
    assert None not in runs[0]["valid_score"]
    assert runs[0]["valid_score"] == runs[1]["valid_score"]
    np.testing.assert_allclose(runs[0]["valid_score"], single[name]["valid_score"], rtol=1e-5)


def test_early_stopping_stops_in_the_same_epoch(ranks):
    """tol=0.5 cannot be met: every rank stops after 1 + n_iter_no_change of 4 epochs."""
    for name in ("tagger_early_stopping", "tagger_rank0_validation"):
        assert [r[name]["n_iter"] for r in ranks] == [2, 2]


def test_different_data_on_ranks_is_refused(ranks):
    """Ranks that pass different X all raise a ValueError that says what to do."""
    for r in ranks:
        assert r["different_data_error"] is not None
        assert "same X and y on every process" in r["different_data_error"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_plain_process_is_not_distributed(monkeypatch):
    """Without torchrun's variables (or inside single_process) fit is not distributed."""
    for var in ("WORLD_SIZE", "RANK", "MASTER_ADDR"):
        monkeypatch.delenv(var, raising=False)
    assert not skdist.is_distributed()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    assert skdist.is_distributed()
    with skdist.single_process():
        assert not skdist.is_distributed()
        est = SequenceTagger(max_epochs=1, **_SMALL).fit(*_tokens(5))
    assert est.n_iter_ == 1


def test_select_rows_keeps_rows_and_shares_characters():
    """select_rows picks per-row tensors and keeps the batch's character table whole."""
    batch = Batch(inputs=torch.arange(12).reshape(3, 4), lengths=torch.tensor([4, 3, 2]),
                  index=np.array([7, 8, 9]), targets=torch.arange(12).reshape(3, 4) * 10,
                  chars=torch.ones(5, 2, dtype=torch.long),
                  char_index=torch.arange(12).reshape(3, 4) % 5)
    part = skdist.select_rows(batch, np.array([0, 2]))
    assert part.inputs.tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert part.lengths.tolist() == [4, 2]
    assert part.index.tolist() == [7, 9]
    assert part.targets.tolist() == [[0, 10, 20, 30], [80, 90, 100, 110]]
    assert part.chars.shape == (5, 2)
    assert part.char_index.shape == (2, 4)


if __name__ == "__main__":
    _worker(sys.argv[1])
