//! The conformance suite against the embedded SQLite store, one fresh in-memory
//! database per test.

mod conformance;

conformance::suite!(store::embedded::EmbeddedStore::in_memory().expect("open store"));
conformance::orgs::orgs_suite!(store::embedded::EmbeddedStore::in_memory().expect("open store"));
conformance::sessions::sessions_suite!(
    store::embedded::EmbeddedStore::in_memory().expect("open store")
);
conformance::onetime::onetime_suite!(
    store::embedded::EmbeddedStore::in_memory().expect("open store")
);
conformance::oauth::oauth_suite!(store::embedded::EmbeddedStore::in_memory().expect("open store"));
conformance::activity::activity_suite!(
    store::embedded::EmbeddedStore::in_memory().expect("open store")
);
