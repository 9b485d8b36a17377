"""The tutorial's toy problem: learn y = x + 0.1 from 5 points, validate on the next 5.

Training pairs are 0.0->0.1 ... 0.4->0.5 and validation pairs 0.5->0.6 ... 0.9->1.0, exactly as in
"How to Diagnose Overfitting and Underfitting of LSTM Models". Validation is an extrapolation, so
long training overfits sharply: this study makes every label show up within a minute.
"""

from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="seed_toy",
    data=Data.toy(),  # window 1, half for validation, unscaled (the tutorial's numbers)
    space=Space(
        hidden=IntRange(1, 20),  # the tutorial tries 1 and 10 memory cells
        layers=IntRange(1, 2),
        dropout=FloatRange(0.0, 0.3),
        weight_decay=FloatRange(1e-6, 1e-3, log=True),
        epochs=IntRange(100, 1200, step=100),  # the tutorial's 100 ... 1200
        lr=1e-3,  # Keras' Adam default
        batch_size=5,  # full batch: 5 training pairs
        optimizer="adam",
        loss="mse",
        shuffle=False,  # as the tutorial trains
    ),
    repeats=3,
    n_trials=20,
    gap_penalty=1.0,
    pruner="median",
    patience=50,  # full-batch curves are smooth; wait longer before calling a turn
    seed=0,
)
