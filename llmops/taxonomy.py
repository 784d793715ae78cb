"""The analyzer's label vocabulary, shared by the offline model, the data files, the agent and the scorers.

Kept dependency-free so anything can import it cheaply.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")
SENTIMENTS = ("positive", "neutral", "negative", "mixed")
CHURN_RISKS = ("low", "medium", "high")
URGENCIES = ("low", "medium", "high")
#: Topics a comment can be about (a comment may have several, gold labels join them with ``|``).
TOPICS = (
    "billing",  # invoices, charges, refunds, payment
    "network",  # coverage, outages, speed, signal
    "support",  # customer service, waiting time, agents
    "pricing",  # price level, increases, offers, promotions
    "contract",  # commitment, termination, fees, plan changes
    "equipment",  # box, router, phone, SIM, delivery
    "roaming",  # abroad, international calls
    "data_protection",  # personal data, privacy, GDPR, spam
)
