"""Codes stored in the database for the catalogue and the shared value types."""

from django.db import models


class PartyKind(models.TextChoices):
    STATE = "state", "State (ISO 3166)"
    ORGANIZATION = "organization", "International organization"
    HISTORICAL = "historical", "Historical state"
    NON_STATE = "non_state", "Non-state armed group"
    UNKNOWN = "unknown", "Unknown party"


class DatePrecision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    YEAR = "year", "Year"
    ON_OR_BEFORE = "on_or_before", "On or before"
    BETWEEN = "between", "Between two dates"
    UNKNOWN = "unknown", "Unknown"


class Reliability(models.TextChoices):
    """NATO Admiralty code: reliability of the source."""

    A = "A", "A – completely reliable"
    B = "B", "B – usually reliable"
    C = "C", "C – fairly reliable"
    D = "D", "D – not usually reliable"
    E = "E", "E – unreliable"
    F = "F", "F – reliability cannot be judged"


class Credibility(models.IntegerChoices):
    """NATO Admiralty code: credibility of the information."""

    CONFIRMED = 1, "1 – confirmed by other sources"
    PROBABLE = 2, "2 – probably true"
    POSSIBLE = 3, "3 – possibly true"
    DOUBTFUL = 4, "4 – doubtful"
    IMPROBABLE = 5, "5 – improbable"
    UNJUDGED = 6, "6 – truth cannot be judged"


class UnrocaCategory(models.TextChoices):
    """The seven categories of the UN Register of Conventional Arms."""

    BATTLE_TANKS = "I", "I – Battle tanks"
    ARMOURED_COMBAT_VEHICLES = "II", "II – Armoured combat vehicles"
    LARGE_CALIBRE_ARTILLERY = "III", "III – Large-calibre artillery systems"
    COMBAT_AIRCRAFT = "IV", "IV – Combat aircraft and unmanned combat aerial vehicles"
    ATTACK_HELICOPTERS = "V", "V – Attack helicopters"
    WARSHIPS = "VI", "VI – Warships"
    MISSILES = "VII", "VII – Missiles and missile launchers"


class SipriCategory(models.TextChoices):
    """SIPRI's armament categories (Arms Transfers Database)."""

    AIRCRAFT = "aircraft", "Aircraft"
    AIR_DEFENCE = "air_defence", "Air defence systems"
    ANTI_SUBMARINE = "anti_submarine", "Anti-submarine warfare"
    ARMOURED_VEHICLES = "armoured_vehicles", "Armoured vehicles"
    ARTILLERY = "artillery", "Artillery"
    ENGINES = "engines", "Engines"
    MISSILES = "missiles", "Missiles"
    NAVAL_WEAPONS = "naval_weapons", "Naval weapons"
    SATELLITES = "satellites", "Satellites"
    SENSORS = "sensors", "Sensors"
    SHIPS = "ships", "Ships"
    OTHER = "other", "Other"


class CountingUnit(models.TextChoices):
    MISSILE = "missile", "Missile"
    ROCKET = "rocket", "Rocket"
    LAUNCHER = "launcher", "Launcher"
    VEHICLE = "vehicle", "Vehicle"
    GUN = "gun", "Gun"
    AIRCRAFT = "aircraft", "Aircraft"
    HELICOPTER = "helicopter", "Helicopter"
    SHIP = "ship", "Ship"
    BATTERY = "battery", "Battery"
    SYSTEM = "system", "System"
    OTHER = "other", "Other"


class AliasKind(models.TextChoices):
    DESIGNATION = "designation", "Designation"
    NAME = "name", "Other name"
    EXPORT_NAME = "export_name", "Export name"
    ABBREVIATION = "abbreviation", "Abbreviation"
    DATASET_SPELLING = "dataset_spelling", "Spelling used by a dataset"


class LedgerKind(models.TextChoices):
    """What a stock-ledger row says about its holder's stock of a system."""

    BASELINE = "baseline", "Baseline (holding in inventory)"
    RECEIVED = "received", "Received (delivery in)"
    PRODUCED = "produced", "Produced"
    SENT = "sent", "Sent (delivery out)"
    EXPENDED = "expended", "Expended (used, lost, retired)"
    PLEDGED_IN = "pledged_in", "Pledged to the holder, not delivered"
    PLEDGED_OUT = "pledged_out", "Pledged by the holder, not delivered"
    ORDERED = "ordered", "Ordered (contracted)"


class EstimateScope(models.TextChoices):
    SYSTEM = "system", "This system"
    FAMILY = "family", "Family (the system and its variants)"
