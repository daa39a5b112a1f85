"""Person records grouped into people: the constrained clustering of siheyuan.linking.cluster.

Python because the clustering is: edge by edge, strongest first, refusing a merge that would put
two valid ID numbers (or a steward's cannot-link pair, or two records of a dataset that lists each
person once) in one cluster — a rule connected components cannot express. Reads the features, the
scored pairs and the stewards' decisions (meta.link_decision, latest per pair); see the module
docstring there for the order and the review reasons. Only components that changed since the
last run are clustered again (siheyuan.linking.resolve, component_hash).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.linking.config import linking_settings
    from siheyuan.linking.incremental import previous_table
    from siheyuan.linking.resolve import resolve

    features = (
        dbt.ref("int_person_link_features")
        .select("link_id, source_dataset, source_key, source_key_hash, id_number, id_conflict")
        .to_arrow_table()
    )
    pairs = dbt.ref("int_person_match_pairs").select("link_id_l, link_id_r, match_weight")
    pairs = pairs.to_arrow_table()
    decisions = (
        dbt.source("meta", "link_decision")
        .query(
            "d",
            "select left_dataset, left_key_hash, right_dataset, right_key_hash, decision from d "
            "qualify row_number() over (partition by pair_id order by decided_at desc) = 1",
        )
        .to_arrow_table()
    )
    # last run's outcome: components whose contents did not change keep it (component_hash)
    previous = previous_table(session, str(dbt.this), "component_hash is not null")
    return resolve(features, pairs, decisions, linking_settings().thresholds(), previous)
