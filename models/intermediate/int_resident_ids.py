"""One stable resident id per cluster: inherited from the last publish, else new.

Python because the assignment is a greedy matching (largest overlap first, each previous id to at
most one cluster) that SQL cannot express without a loop; the rule itself and why it is shaped
so are in siheyuan.stable_ids (merges keep the larger part's id, a split leaves it with the
larger part, an id is never reused for someone else).
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from siheyuan.stable_ids import cluster_ids_table

    anchors = dbt.ref("int_resident_anchors").select(
        "source_dataset, source_key, anchor, anchor_resident_id"
    )
    previous = dbt.source("meta", "resident_record_id").select(
        "source_dataset, source_key, resident_id"
    )
    history = dbt.source("meta", "resident_id_history").select("old_resident_id, new_resident_id")
    id_key = (
        dbt.source("meta", "settings").filter("name = 'id_key'").select("value").limit(1).fetchall()
    )
    if not id_key or not id_key[0][0]:
        raise RuntimeError("meta.settings has no id_key row: run the ingest/init step first")
    return cluster_ids_table(
        anchors.to_arrow_table(),
        previous.to_arrow_table(),
        history.to_arrow_table(),
        str(id_key[0][0]),
    )
