"""The scoring of person-record pairs, kept for the next run (siheyuan.linking.incremental).

Python because Splink is. One row per person record (kind = record: its dataset-and-key, the hash
of what the model compares, its name) and one per scored pair down to a margin below the review
weight (kind = pair, above_floor when it reaches the review weight). The next run reads this
table before replacing it: only records whose hash changed are scored against everyone, cached
pairs of unchanged records are re-scored, and the pairs equal a full prediction's. mode says
which this run did (full when there is no cache, the model changed, the delta is large, or name
frequencies moved too far); int_person_match_pairs is the pairs at or above the review weight.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.linking.config import linking_settings
    from siheyuan.linking.incremental import previous_table, score_with_cache
    from siheyuan.linking.model import MODEL_COLUMNS
    from siheyuan.linking.predict import load_model

    columns = ", ".join([*MODEL_COLUMNS, "source_dataset", "source_key_hash"])
    features = dbt.ref("int_person_link_features").select(columns).to_arrow_table()
    settings = linking_settings()
    cache, _ = score_with_cache(
        features,
        load_model(),
        settings.review_weight,
        previous_table(session, str(dbt.this)),
        settings.incremental,
        settings.backend,
    )
    return cache
