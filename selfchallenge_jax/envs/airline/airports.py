"""The airline's fixed world: its 20 airports, cabins, the simulated "now" and the date range."""

from __future__ import annotations

# IATA code -> city, in the order list_all_airports reports them (same set as tau-bench).
AIRPORTS: dict[str, str] = {
    "SFO": "San Francisco", "JFK": "New York", "LAX": "Los Angeles", "ORD": "Chicago",
    "DFW": "Dallas", "DEN": "Denver", "SEA": "Seattle", "ATL": "Atlanta", "MIA": "Miami",
    "BOS": "Boston", "PHX": "Phoenix", "IAH": "Houston", "LAS": "Las Vegas", "MCO": "Orlando",
    "EWR": "Newark", "CLT": "Charlotte", "MSP": "Minneapolis", "DTW": "Detroit",
    "PHL": "Philadelphia", "LGA": "LaGuardia",
}
CABINS = ("basic_economy", "economy", "business")

# The policy's current time; flights before it have flown, reservations were made before it.
NOW = "2024-05-15T15:00:00"
FIRST_DATE = "2024-05-01"
NUM_DATES = 30

# Free checked bags per passenger, by membership and cabin (the policy's allowance table).
FREE_BAGS: dict[str, dict[str, int]] = {
    "regular": {"basic_economy": 0, "economy": 1, "business": 2},
    "silver": {"basic_economy": 1, "economy": 2, "business": 3},
    "gold": {"basic_economy": 2, "economy": 3, "business": 3},
}
BAG_PRICE = 50
INSURANCE_PRICE = 30
