from inventory.models import Country


def test_iso_states_and_other_parties_are_loaded_by_migration(db):
    assert Country.objects.filter(kind="state").count() == 249
    assert Country.objects.get(code="XXU").kind == "unknown"
    assert Country.objects.get(aliases__alias_normalized="uae").code == "AE"
