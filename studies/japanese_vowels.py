"""Who is speaking? Nine speakers' Japanese vowels, classified from 12 cepstrum coefficients per
frame (bundled; the UCI/UEA Japanese Vowels set via aeon).

640 utterances of /ae/, each 7-29 frames, padded at the start to 29 frames so that every
utterance ends on its own last frame. An LSTM reads the frames and names the speaker (9
classes). Validation and test utterances are drawn per speaker with the study seed; the loss is
cross-entropy, and accuracy is recorded every epoch beside it.
"""

from sweeper import Data, FloatRange, IntRange, Space, Study

study = Study(
    name="japanese_vowels",
    data=Data(
        source="japanese_vowels",   # arrays x (640, 29, 12) and y (speaker 0-8)
        task="classify",
        val_fraction=0.2,           # per speaker: 20% validate, 10% test
        test_fraction=0.1,
    ),
    space=Space(
        hidden=IntRange(8, 96, log=True),
        layers=IntRange(1, 2),
        dropout=FloatRange(0.0, 0.5),
        weight_decay=FloatRange(1e-6, 1e-2, log=True),
        epochs=IntRange(10, 80, step=10),
        lr=FloatRange(1e-3, 1e-2, log=True),
        batch_size=32,
    ),
    repeats=3,
    n_trials=30,
    seed=0,
)
