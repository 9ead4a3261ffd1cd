//! The storage conformance suite: the same tests against every backend.
//! SQLite always; PostgreSQL when `MAMORI_TEST_PG_URL` names a database
//! (each test gets a schema of its own). Without it the PostgreSQL half says
//! loudly that it was skipped; CI always sets it.

mod agents;
mod alerts;
mod audit;
mod budgets;
mod concurrency;
mod exports;
mod fixtures;
mod identity;
mod people;
mod pg_schema;
mod reconcile;
mod records;
mod reviews;

macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                crate::$module::$name(&crate::fixtures::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                if let Some(s) = crate::fixtures::postgres() {
                    crate::$module::$name(&s);
                }
            })*
        }
    };
}

conformance!(
    records::tenants_and_keys,
    records::deployment_keys_are_added_once_and_every_key_rewrapped_together,
    records::records_and_blind_index,
    records::scanning_pages_in_id_order,
    records::the_case_feed_is_per_tenant_and_replaced_by_id,
    records::a_commit_group_sees_its_own_writes_and_keeps_batches_whole,
    records::a_commit_group_indexes_each_record_by_its_last_write,
    records::a_reseal_never_reverts_a_newer_write,
    people::users_tokens_and_assignments,
    identity::credentials_keep_their_terms_and_are_revoked_one_by_one,
    identity::an_identity_is_one_persons_and_a_sign_in_is_taken_once,
    identity::scim_users_provision_people_and_groups_keep_live_members,
    identity::scim_tokens_are_found_by_hash_until_revoked,
    people::revoked_tokens_and_suspensions_reach_every_process,
    people::vendors_training_and_compliance,
    people::requests_move_by_compare_and_set,
    people::full_access_follows_its_nomination,
    people::a_stored_request_whose_state_and_decisions_disagree_is_refused,
    people::a_persons_revision_moves_with_their_facts_only,
    people::deprovisioning_revokes_everything_open_of_the_person_together,
    exports::exports_need_distinct_approvers_and_download_once,
    exports::expired_packages_are_purged,
    exports::a_stored_export_whose_state_and_package_disagree_is_refused,
    alerts::an_alert_is_stored_and_queued_once,
    alerts::alert_transitions_are_compare_and_set,
    alerts::alert_filters,
    alerts::snapshot_honey_and_shifts,
    agents::hunts_and_reports,
    reconcile::discrepancies_keep_their_disposition_across_runs,
    reviews::a_revocation_is_recorded_and_applied_together,
    reviews::a_days_usage_is_summarised_once_and_read_in_order,
    audit::audit_appends_chain_and_read_back,
    audit::audit_tree_checkpoints_and_cosignatures,
    audit::audit_archive_moves_only_the_oldest_range,
    audit::audit_tables_refuse_update_and_delete,
    audit::audit_appenders_in_two_processes_stay_gapless,
    budgets::budgets_charge_distinct_customers_all_or_nothing,
    budgets::budgets_hold_under_racing_requests,
    budgets::overlapping_charges_in_any_order_count_each_customer_once,
    budgets::a_lease_is_held_by_one_process_at_a_time,
    concurrency::full_access_cap_holds_under_racing_approvals,
    concurrency::an_export_is_packaged_and_taken_once_under_races,
);
