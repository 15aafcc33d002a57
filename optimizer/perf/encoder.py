"""Encoder (embedding) models: how far their modelled speed is from published measurements, and how sure we are.

The roofline of speed.py was fitted on decoder serving only. For encoders one published, end-to-end measurement
with a source exists in `catalogs/_sources/calibration/encoder_throughput.csv`: BAAI/bge-large-en-v1.5 on one
NVIDIA L4 served by text-embeddings-inference 0.6, 0.54 requests/s of 256 sentences of 449 tokens, i.e. 138.2
sequences/s (Infinity's benchmark page). The model without a correction gives 234.6 sequences/s at the same
length (`estimate --model bge-large-en-v1.5 --gpu L4 --isl 449 --osl 0`), 1.70x the measurement: HTTP,
tokenisation and padding to the longest sentence of a batch cost what the roofline does not see.

    ENCODER_EFFICIENCY = 138.24 / 234.6 = 0.589     (time per encoder batch = roofline time / 0.589)

One row on one GPU and one engine is a correction, not a calibration: every encoder estimate is labelled
"uncalibrated" and carries the wide band ENCODER_BAND (the throughput may be half to 1.5 times the figure).
Measure with `llmplan benchmark` and `llmplan measured import` before relying on it.
"""

from __future__ import annotations

MEASURED_SEQ_S = 138.24  # bge-large-en-v1.5, 1x L4, TEI 0.6, isl 449 (encoder_throughput.csv line 2)
MODELLED_SEQ_S = 167.96  # the roofline's figure for that row (engine tgi) before this correction
ENCODER_EFFICIENCY = MEASURED_SEQ_S / MODELLED_SEQ_S
ENCODER_BAND = (0.5, 1.5)  # throughput range, as multiples of the estimate
UNCALIBRATED_NOTE = ("uncalibrated: encoder speed rests on one published measurement (bge-large-en-v1.5 on an L4 "
                     "with text-embeddings-inference 0.6); expect {lo:.0%} to {hi:.0%} of the figure. Measure it "
                     "(llmplan benchmark) before relying on it")


def uncalibrated_note() -> str:
    return UNCALIBRATED_NOTE.format(lo=ENCODER_BAND[0], hi=ENCODER_BAND[1])
