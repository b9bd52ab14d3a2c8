"""Valuation: comparable-sales AVM, market index, ratio study and backtest (pure computation)."""

from reos.valuation.engine import MODEL_VERSION, AvmModel, train, value, value_many
from reos.valuation.valuation_result import CompEvidence, Valuation

__all__ = ["MODEL_VERSION", "AvmModel", "CompEvidence", "Valuation", "train", "value", "value_many"]
