"""Join of two streams

Orders and payments arrive on separate streams. Both are keyed by
order id, and `join` emits an order together with its payment as soon
as both sides have arrived, in any order. Order o-4 is never paid, so
it never comes out.
"""

import rillet.operators as op
from rillet.connectors.stdio import StdOutSink
from rillet.dataflow import Dataflow
from rillet.testing import TestingSource

ORDERS = [
    {"order": "o-1", "customer": "ada", "total": 30.00},
    {"order": "o-2", "customer": "grace", "total": 12.50},
    {"order": "o-3", "customer": "linus", "total": 99.90},
    {"order": "o-4", "customer": "ada", "total": 5.00},
]
PAYMENTS = [
    {"order": "o-2", "method": "card"},
    {"order": "o-1", "method": "paypal"},
    {"order": "o-3", "method": "card"},
]


def format_receipt(paid_order):
    """`(order id, (order, payment))` as a line of text."""
    order_id, (order, payment) = paid_order
    return f"{order_id}: {order['customer']} paid {order['total']:.2f} by {payment['method']}"


flow = Dataflow("order_join")
orders = op.input("orders", flow, TestingSource(ORDERS))
payments = op.input("payments", flow, TestingSource(PAYMENTS))
orders_by_id = op.key_on("orders_by_id", orders, lambda order: order["order"])
payments_by_id = op.key_on("payments_by_id", payments, lambda payment: payment["order"])
paid = op.join("paid", orders_by_id, payments_by_id, insert_mode="last", emit_mode="complete")
receipts = op.map("receipt", paid, format_receipt)
op.output("print", receipts, StdOutSink())
