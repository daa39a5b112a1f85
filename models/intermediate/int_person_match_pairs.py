"""Candidate pairs of person records scored by the trained Splink model (siheyuan.linking).

Python because Splink is: it runs on its own in-memory DuckDB fed the features as Arrow (see
siheyuan.linking.predict), so its working tables never land in the warehouse. Only pairs at or
above the review weight (linking.yml) are kept: below it a pair is neither linked nor queued.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.linking.config import linking_settings
    from siheyuan.linking.model import MODEL_COLUMNS
    from siheyuan.linking.predict import load_model, score_pairs

    # only the columns the model reads cross into Arrow
    features = dbt.ref("int_person_link_features").select(", ".join(MODEL_COLUMNS)).to_arrow_table()
    settings = linking_settings()
    return score_pairs(features, load_model(), settings.review_weight)
