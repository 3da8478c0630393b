//! Replays every conformance scenario in `spec/conformance/scenarios/` against the
//! real server. Each scenario is listed by name, as passing or as not yet expected
//! to pass; an unlisted scenario file fails the suite.

use switchboard_testkit::conformance::{expect_pass, scenario_names};

macro_rules! scenarios {
    (passing: [$($pass:ident),* $(,)?], pending: [$($pending:ident),* $(,)?] $(,)?) => {
        $(
            #[tokio::test]
            async fn $pass() {
                expect_pass(&stringify!($pass).replace('_', "-")).await;
            }
        )*
        $(
            #[tokio::test]
            async fn $pending() {
                switchboard_testkit::conformance::expect_pending(&stringify!($pending).replace('_', "-")).await;
            }
        )*
        const LISTED: &[&str] = &[$(stringify!($pass),)* $(stringify!($pending),)*];
    };
}

scenarios! {
    passing: [
        missing_action_error,
        unsupported_action_error,
        unknown_session_error,
        confirm_no_pending_error,
        basic_streaming_turn,
        tool_call_turn,
        hitl_write_confirmation,
        cancel_mid_turn,
        citations_grounded_turn,
        interaction_park_resume,
        interaction_invalid_retryable,
        interaction_conversational_fallback,
        interaction_choices_park_resume,
        list_conversations_paging_search,
        get_messages_before,
        handoff_by_tool,
        handoff_on_request,
    ],
    pending: [],
}

#[test]
fn every_scenario_file_is_listed() {
    let listed: Vec<String> = LISTED.iter().map(|n| n.replace('_', "-")).collect();
    for name in scenario_names() {
        assert!(
            listed.contains(&name),
            "scenario '{name}' is not listed in tests/conformance.rs; list it as passing or pending"
        );
    }
    for name in &listed {
        assert!(
            scenario_names().contains(name),
            "listed scenario '{name}' has no file"
        );
    }
}
