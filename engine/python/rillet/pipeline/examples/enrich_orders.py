"""File-to-file enrichment

Reads orders from a CSV file, adds each product's name and price from
a product catalog, and writes the enriched orders to
`enriched_orders.csv` in the directory you run it from. The catalog
lookup stands in for a slow service: `enrich_cached` calls it once per
product and reuses the answer for the `ttl` that follows. `FileSink`
writes `(key, line)` pairs (the key picks the file of a partitioned
sink), so the lines get one key first.
"""

import csv
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import rillet.operators as op
from rillet.connectors.files import CSVSource, FileSink
from rillet.dataflow import Dataflow

DATA = files("rillet.pipeline") / "examples" / "data"
OUTPUT = Path("enriched_orders.csv")


def lookup_product(sku):
    """The catalog row of a product, or None if there is no such product."""
    with (DATA / "products.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["sku"] == sku:
                return row
    return None


def add_product(cache, order):
    """An order as a CSV line with the product's name, unit price and total."""
    quantity = int(order["quantity"])
    product = cache.get(order["sku"])
    if product is None:
        return f"{order['order_id']},{order['sku']},{quantity},unknown product,,"
    total = quantity * float(product["unit_price"])
    fields = [order["order_id"], order["sku"], quantity, product["name"], product["unit_price"]]
    return ",".join(map(str, fields)) + f",{total:.2f}"


flow = Dataflow("enrich_orders")
orders = op.input("orders", flow, CSVSource(DATA / "orders.csv"))
enriched = op.enrich_cached("enrich", orders, lookup_product, add_product, ttl=timedelta(minutes=5))
keyed = op.key_on("one_file", enriched, lambda line: "enriched_orders")
op.output("write", keyed, FileSink(OUTPUT))
