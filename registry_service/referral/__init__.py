"""Referral classification: which channel and AI assistant an event's visitor came from.

Rules are data (contracts/referral_rules/<version>.json, format rules.schema.json); see
docs/referral-classification.md.
"""

from registry_service.referral.classifier import Classification, Classifier, default_classifier
from registry_service.referral.rules import CompiledRules, RulesError, load_rules

__all__ = [
    "Classification",
    "Classifier",
    "CompiledRules",
    "RulesError",
    "default_classifier",
    "load_rules",
]
