"""Data-parallel training with torchrun: one tagger, several processes.
====================================================================

The script is an ordinary skrnn script; launched by ``torchrun`` its
``fit`` trains data-parallel (DistributedDataParallel): every process reads
the same data and builds the same epoch plan, trains on its share of every
batch, and the gradients are averaged, so the result is that of one
process training on the same (global) batches. Every process ends with the
same fitted tagger; rank 0 reports and saves it.

Run::

    python examples/distributed_training.py                          # one process
    torchrun --standalone --nproc_per_node=2 examples/distributed_training.py

On several machines, start the same command on each (``--node_rank`` 0, 1, ...)::

    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=4 \\
        --rdzv_backend=c10d --rdzv_endpoint=host0:29500 --rdzv_id=tagger \\
        examples/distributed_training.py

On CPUs the processes talk through gloo; with GPUs each process takes the
GPU ``cuda:LOCAL_RANK`` and NCCL (``device="auto"`` does this).
"""

import os

# Let idle OpenMP threads sleep instead of spinning (see examples/quickstart.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time

from skrnn import SequenceTagger
from skrnn.datasets import load_brown_pos
from skrnn.distributed import is_distributed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=3000, help="first N training sentences")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="global batch size, shared out among the processes")
    parser.add_argument("--out", default="tagger_ddp.skrnn",
                        help="where rank 0 saves the tagger (skrnn.load reads it back)")
    args = parser.parse_args()

    # torchrun sets RANK and WORLD_SIZE (and OMP_NUM_THREADS=1 unless given).
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))

    # Every process loads the same data: the batches are shared out, not the data.
    X_train, y_train = load_brown_pos("train")
    X_test, y_test = load_brown_pos("test")
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]

    tagger = SequenceTagger(hidden_size=64, embedding_dim=64, char_embedding_dim=16,
                            char_filters=32, batch_size=args.batch_size,
                            max_epochs=args.epochs, early_stopping=True, random_state=0,
                            verbose=1)
    tic = time.perf_counter()
    tagger.fit(X_train, y_train)  # data-parallel under torchrun, plain otherwise
    seconds = time.perf_counter() - tic

    if rank == 0:
        tokens = sum(map(len, X_train)) * tagger.n_iter_
        mode = f"{world} processes (DDP)" if is_distributed() else "1 process"
        print(f"\n{mode}: {tagger.n_iter_} epochs in {seconds:.1f} s "
              f"({tokens / seconds:.0f} training tokens/s)")
        print(f"test accuracy: {tagger.score(X_test, y_test):.4f}")
        # Every rank holds the same weights: save once, from rank 0.
        tagger.save(args.out)
        print(f"saved to {args.out} (skrnn.load reads it back)")


if __name__ == "__main__":
    main()
