//! The federated gateway as clients see it: one endpoint over the auth subgraph and three
//! fixture subgraphs (catalog, reviews, inventory). Every story runs twice — against real
//! processes on random ports talking HTTP and WebSocket, and against the in-process transport
//! of `rialto serve` — except those about the network itself (timeouts, an upstream dying).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod compat;
mod distributed;
mod stories;
mod support;

macro_rules! both_transports {
    ($($name:ident),* $(,)?) => {
        mod remote {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::stories::$name(crate::support::Mode::Remote).await
                }
            )*
        }
        mod in_process {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::stories::$name(crate::support::Mode::InProcess).await
                }
            )*
        }
    };
}

both_transports!(
    root_fields_of_several_subgraphs_answer_in_one_response,
    entity_fields_come_from_the_subgraphs_that_own_them_two_hops_deep,
    fragments_aliases_variables_and_directives_work_across_subgraphs,
    fragments_on_abstract_types_pick_the_right_fields,
    subgraph_errors_pass_through_with_the_clients_paths,
    nulls_propagate_across_subgraph_boundaries,
    introspection_shows_the_composed_schema_and_nothing_internal,
    mutation_fields_run_in_order,
    a_subscription_event_carries_fields_from_other_subgraphs,
    the_callers_identity_reaches_subgraphs_and_a_forged_one_does_not,
    api_keys_work_through_the_gateway_until_revoked,
    a_batch_runs_every_operation_and_too_big_a_batch_is_refused,
    abusive_operations_are_refused_before_any_subgraph_is_called,
);

mod remote_only {
    use crate::support::Mode;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_hop_is_one_entities_request_per_subgraph() {
        crate::stories::each_hop_is_one_entities_request_per_subgraph(Mode::Remote).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rotated_signing_key_is_picked_up_from_the_jwks() {
        crate::stories::a_rotated_signing_key_is_picked_up_from_the_jwks(Mode::Remote).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_subgraph_times_out_with_a_typed_error() {
        crate::stories::a_slow_subgraph_times_out_with_a_typed_error(Mode::Remote).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upstream_drop_ends_the_subscription_with_an_error() {
        crate::stories::an_upstream_drop_ends_the_subscription_with_an_error(Mode::Remote).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_down_subgraph_fails_only_its_fields_and_readiness() {
        crate::stories::a_down_subgraph_fails_only_its_fields_and_readiness(Mode::Remote).await
    }
}
