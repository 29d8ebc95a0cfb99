"""Normalise dates: read a date written any of a dozen ways, write it as an ISO date.
==================================================================================

"3rd of March 2021", "03/03/21", "March 3, 2021", "2021-3-3" and "Wed 3 Mar 2021" all
become "2021-03-03". The pairs are generated here, with a fixed seed: dates from 1950 to
2049 in 16 styles (slashes are American month/day, dots European day.month; two-digit
years are 1950-2049), in random letter case for the styles with month names. A
character-level encoder-decoder with attention (``skrnn.Seq2Seq``, strings in and out)
learns the mapping from examples alone, and is scored on dates it never saw in training
(exact match of the whole ISO string). Finally it shows, for one input, which character
the decoder looked at (the attention's argmax) while writing each output character.

Run::

    python examples/normalize_dates.py            # 20,000 pairs: ~1-2 minutes on 2 cores
    python examples/normalize_dates.py --quick    # 6,000 pairs: ~20 s
"""

import os

# Let idle OpenMP threads sleep instead of spinning: on a machine where other
# programs use the cores, spinning threads slow PyTorch's recurrent kernels
# down by up to 100x. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import datetime
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skrnn import Seq2Seq
from skrnn.metrics import exact_match_accuracy

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def ordinal(n):
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def styles(d):
    """Every way this example writes date ``d``: {style name: text}."""
    month, mon = MONTHS[d.month - 1], MONTHS[d.month - 1][:3]
    day, dy = DAYS[d.weekday()], DAYS[d.weekday()][:3]
    yy = d.year % 100
    return {
        "3rd of March 2021": f"{ordinal(d.day)} of {month} {d.year}",
        "the 3rd of March, 2021": f"the {ordinal(d.day)} of {month}, {d.year}",
        "March 3, 2021": f"{month} {d.day}, {d.year}",
        "March 3rd 2021": f"{month} {ordinal(d.day)} {d.year}",
        "3 March 2021": f"{d.day} {month} {d.year}",
        "Mar 3 2021": f"{mon} {d.day} {d.year}",
        "3-Mar-21": f"{d.day}-{mon}-{yy:02d}",
        "Wed 3 Mar 2021": f"{dy} {d.day} {mon} {d.year}",
        "Wednesday, March 3, 2021": f"{day}, {month} {d.day}, {d.year}",
        "03/03/21": f"{d.month:02d}/{d.day:02d}/{yy:02d}",
        "3/3/2021": f"{d.month}/{d.day}/{d.year}",
        "03.03.2021": f"{d.day:02d}.{d.month:02d}.{d.year}",
        "3.3.21": f"{d.day}.{d.month}.{yy:02d}",
        "2021-3-3": f"{d.year}-{d.month}-{d.day}",
        "2021/03/03": f"{d.year}/{d.month:02d}/{d.day:02d}",
        "20210303": f"{d.year}{d.month:02d}{d.day:02d}",
    }


def make_dates(n, rng, exclude=()):
    """``n`` random dates (none in ``exclude``), each in a random style; (texts, ISO, styles)."""
    span = (LAST - FIRST).days + 1
    texts, isos, names = [], [], []
    while len(texts) < n:
        d = FIRST + datetime.timedelta(days=int(rng.randint(span)))
        if d in exclude:
            continue
        name, text = list(styles(d).items())[rng.randint(16)]
        if any(c.isalpha() for c in text):  # month names: any letter case
            text = [text, text.lower(), text.upper()][rng.choice(3, p=[0.6, 0.25, 0.15])]
        texts.append(text)
        isos.append(d.isoformat())
        names.append(name)
    return texts, isos, names


def print_attention(model, text):
    """The input character each output character attended to most, as a small table."""
    output = model.predict([text])[0]
    weights = model.attention_weights([text])[0]  # (len(output), len(text))
    print(f"\nattention for {text!r} -> {output!r}: the input character looked at most")
    print("  out  in  position  weight")
    for char, row in zip(output, weights):
        j = int(row.argmax())
        print(f"  {char!r:4s} {text[j]!r:4s} {j:6d}   {row[j]:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 training pairs, 5 epochs")
    parser.add_argument("--n-train", type=int, default=None, help="default 20,000 (6,000 quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default 8 (5 quick)")
    args = parser.parse_args()
    n_train = args.n_train or (6000 if args.quick else 20000)
    epochs = args.epochs or (5 if args.quick else 8)

    rng = np.random.RandomState(0)
    X, y, _ = make_dates(n_train, rng)
    seen = {datetime.date.fromisoformat(t) for t in y}
    X_test, y_test, test_styles = make_dates(2000, rng, exclude=seen)  # unseen dates only
    print(f"{len(X)} training pairs, {len(X_test)} test pairs of dates not seen in training")
    for text, iso in zip(X[:5], y[:5]):
        print(f"  {text!r:32s} -> {iso}")

    model = Seq2Seq(hidden_size=64, embedding_dim=32, max_epochs=epochs, random_state=0,
                    verbose=1)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the epoch limit is the budget
        model.fit(X, y)
    print(f"\ntrained {model.n_iter_} epochs in {time.perf_counter() - tic:.0f} s")

    predicted = model.predict(X_test)
    print(f"\nexact match on unseen dates: {exact_match_accuracy(y_test, predicted):.2%}")
    by_style = {}
    for name, p, t in zip(test_styles, predicted, y_test):
        by_style.setdefault(name, []).append(p == t)
    worst = [(name, np.mean(ok)) for name, ok in by_style.items() if not all(ok)]
    worst = sorted(worst, key=lambda kv: kv[1])[:3]
    print("hardest styles: " + ", ".join(f"{name!r} {acc:.1%}" for name, acc in worst)
          if worst else f"every one of the {len(by_style)} styles: 100%")

    print()
    for text in ["3rd of March 2021", "03/03/21", "March 3, 2021", "2021-3-3",
                 "Wed 3 Mar 2021", "the 29th of february, 1996", "DECEMBER 31ST 1999"]:
        print(f"  {text!r:32s} -> {model.predict([text])[0]}")
    wrong = [(x, p, t) for x, p, t in zip(X_test, predicted, y_test) if p != t][:5]
    if wrong:
        print("\nsome mistakes (input, predicted, true):")
        for x, p, t in wrong:
            print(f"  {x!r:32s} -> {p}  (true {t})")

    print_attention(model, "Wed 3 Mar 2021")


if __name__ == "__main__":
    main()
