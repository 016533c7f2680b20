"""Fraud detector

A keyed, stateful check of card transactions. Each card keeps a little
history (how many transactions, their total, where and when the last
one was) in `stateful_map`, and a transaction raises an alert when its
amount is far above the card's average, or when the card is used in
another country less than an hour after the last use.
"""

import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

SPIKE_FACTOR = 4
TRAVEL_MINUTES = 60

TRANSACTIONS = [
    {"id": "t01", "card": "4000-0001", "amount": 12.50, "country": "FR", "minute": 0},
    {"id": "t02", "card": "4000-0002", "amount": 40.00, "country": "DE", "minute": 3},
    {"id": "t03", "card": "4000-0001", "amount": 9.90, "country": "FR", "minute": 15},
    {"id": "t04", "card": "4000-0001", "amount": 15.00, "country": "FR", "minute": 42},
    {"id": "t05", "card": "4000-0002", "amount": 38.00, "country": "DE", "minute": 50},
    {"id": "t06", "card": "4000-0001", "amount": 480.00, "country": "FR", "minute": 61},
    {"id": "t07", "card": "4000-0002", "amount": 41.00, "country": "BR", "minute": 75},
    {"id": "t08", "card": "4000-0003", "amount": 5.00, "country": "IT", "minute": 80},
    {"id": "t09", "card": "4000-0002", "amount": 35.00, "country": "BR", "minute": 190},
    {"id": "t10", "card": "4000-0003", "amount": 6.50, "country": "IT", "minute": 200},
]


def check_card(history, txn):
    """Check one transaction against its card's history.

    Returns the updated history and an alert (or None).
    """
    if history is None:
        history = {"count": 0, "total": 0.0, "country": None, "minute": None}
    alert = None
    if history["count"] >= 3 and txn["amount"] > SPIKE_FACTOR * history["total"] / history["count"]:
        average = history["total"] / history["count"]
        alert = (
            f"{txn['id']}: {txn['amount']:.2f} is over {SPIKE_FACTOR}x the average of {average:.2f}"
        )
    elif (
        history["country"] not in (None, txn["country"])
        and txn["minute"] - history["minute"] < TRAVEL_MINUTES
    ):
        gap = txn["minute"] - history["minute"]
        alert = f"{txn['id']}: used in {txn['country']} {gap} minutes after {history['country']}"
    history = {
        "count": history["count"] + 1,
        "total": history["total"] + txn["amount"],
        "country": txn["country"],
        "minute": txn["minute"],
    }
    return history, alert


flow = Dataflow("fraud_detector")
transactions = op.input("transactions", flow, TestingSource(TRANSACTIONS))
by_card = op.key_on("by_card", transactions, lambda txn: txn["card"])
checked = op.stateful_map("check", by_card, check_card)
alerts = op.filter_value("alerts_only", checked, lambda alert: alert is not None)
op.output("print", alerts, StdOutSink())
